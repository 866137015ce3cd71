"""Built-in notification channels (outbound webhooks, e-mail), one plugin module each."""
