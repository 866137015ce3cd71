"""Built-in earning rule types, one plugin module each."""
