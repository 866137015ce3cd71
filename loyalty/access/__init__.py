"""Who may do what: admin accounts and the audit log, API keys, and rate limits on sign-in and the API."""
