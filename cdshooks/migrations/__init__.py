"""Alembic migrations of the service's one database (the script directory `cdshooks:migrations`)."""
