"""Built-in referral fraud checks, one plugin module each."""
