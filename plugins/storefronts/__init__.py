"""Built-in storefront adapters, one plugin module each."""
