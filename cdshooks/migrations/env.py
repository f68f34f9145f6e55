"""Alembic's environment: migrations run on the connection `cdshooks.schema` hands over, never from an ini file."""

from __future__ import annotations

from alembic import context

from cdshooks.schema import metadata_of_the_service

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata_of_the_service(),
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters a table by copying it
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
