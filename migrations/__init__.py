"""Alembic migrations (Flask-Migrate), shipped inside the package so a wheel install can upgrade its database."""
