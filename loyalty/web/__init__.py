"""HTTP endpoints of the core (the REST API and the admin join later)."""
