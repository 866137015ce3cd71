"""Reporting: the dashboard's figures, finance's rollforward and breakage, the daily roll-ups, and reading a period."""
