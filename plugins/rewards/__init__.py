"""Built-in reward types, one plugin module each."""
