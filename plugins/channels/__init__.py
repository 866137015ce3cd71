"""Built-in notification channels, one plugin module each."""
