"""Programs and their members: creating a program with its accounts, enrolling customers, the expiry policy."""
