"""The database schema: Alembic migrations own it (`cdshooks/migrations`), and this says where a database stands.

`cdshooks db upgrade` runs `upgrade` once per deployment; replicas never migrate at start-up, they
report a schema behind the migrations' head as not ready (`cdshooks.readiness`). Sandbox mode, a
single process on demo data, upgrades its own database when it starts.

A database made by release 0.1.0, before migrations existed, has the tables of revision 0001 and no
`alembic_version`: `upgrade` checks that it has exactly those tables and columns, stamps it 0001 and
upgrades it from there, keeping its rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, inspect
from sqlalchemy.engine import Connection

from cdshooks.database import Database, metadata
from cdshooks.settings import ConfigurationError

SCRIPTS = "cdshooks:migrations"
BASELINE = "0001"
# the tables (and columns) release 0.1.0 created without migrations: what revision 0001 creates
BASELINE_TABLES = {
    "seen_jwt": {"id", "iss", "jti", "expires"},
    "issued_card": {
        "id", "card_uuid", "service_id", "rule_id", "rule_version", "hook_instance", "issued_at", "iss", "tenant",
        "patient_ref", "patient_key_id",
    },
    "issued_suggestion": {"id", "suggestion_uuid", "card_uuid", "issued_at"},
    "feedback": {
        "id", "digest", "service_id", "card_uuid", "outcome", "accepted_suggestions", "override_reason",
        "outcome_timestamp", "iss", "tenant", "received_at",
    },
    "feedback_quota": {"id", "iss", "window_start", "used"},
}  # fmt: skip


class UnknownSchema(ConfigurationError):
    """The database holds tables this service did not make, or made by a version no migration knows."""


def metadata_of_the_service() -> MetaData:
    """Every table the service uses, on one MetaData (importing the stores defines them)."""
    from cdshooks import feedback, ledger, quota, replay, suppression  # noqa: F401

    return metadata


@cache
def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(_config())


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", SCRIPTS)
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head() -> str:
    found = _scripts().get_current_head()
    assert found is not None, "the migrations have a head"
    return found


@dataclass(frozen=True)
class SchemaState:
    current: str | None  # None: no alembic_version (an empty database, or one made by release 0.1.0)
    head: str
    legacy: bool  # release 0.1.0's tables, never stamped

    @property
    def at_head(self) -> bool:
        return self.current == self.head

    @property
    def newer(self) -> bool:
        """Migrated by a newer release (a revision this version does not know): during a rolling update,
        the replicas of the release before it."""
        return self.current is not None and self.current not in _revisions()

    def describe(self) -> str:
        """Where the schema stands, in a few words."""
        if self.at_head:
            return f"at {self.head} (head)"
        if self.legacy:
            return "made by release 0.1.0, never migrated"
        if self.current is None:
            return "empty"
        if self.current in _revisions():
            return f"at {self.current}, behind the head {self.head}"
        return f"at {self.current}, a revision this version does not know (a newer release migrated it)"

    def advice(self) -> str:
        """`describe`, with what to do about it."""
        if self.at_head or (self.current is not None and self.current not in _revisions()):
            return self.describe()
        return f"{self.describe()}: run `cdshooks db upgrade` (head is {self.head})"


def _revisions() -> set[str]:
    return {script.revision for script in _scripts().walk_revisions()}


def _state(connection: Connection) -> SchemaState:
    current = MigrationContext.configure(connection).get_current_revision()
    legacy = False
    if current is None:
        present = set(inspect(connection).get_table_names())
        legacy = bool(present & BASELINE_TABLES.keys())
    return SchemaState(current, head(), legacy)


def state(database: Database) -> SchemaState:
    with database.connect() as connection:
        return _state(connection)


def _check_baseline(connection: Connection) -> None:
    inspector = inspect(connection)
    present = set(inspector.get_table_names())
    missing = sorted(BASELINE_TABLES.keys() - present)
    if missing:
        raise UnknownSchema(
            f"the database has some of this service's tables but not {', '.join(missing)}: it was not made by "
            "release 0.1.0 and no migration knows it; point CDSHOOKS_DATABASE_URL at a new database"
        )
    for table, columns in BASELINE_TABLES.items():
        found = {column["name"] for column in inspector.get_columns(table)}
        if found != columns:
            raise UnknownSchema(
                f"table {table} has columns {sorted(found ^ columns)} that release 0.1.0 did not make (or lacks "
                "them): no migration knows this database; point CDSHOOKS_DATABASE_URL at a new database"
            )


def upgrade(database: Database) -> tuple[SchemaState, SchemaState]:
    """Migrate the database to the head (stamping a release-0.1.0 database first); (before, after)."""
    with database.begin() as connection:
        before = _state(connection)
        if before.current is not None and before.current not in _revisions():
            raise UnknownSchema(f"the database is {before.describe()}; upgrade cdshooks instead")
        config = _config(connection)
        if before.legacy:
            _check_baseline(connection)
            command.stamp(config, BASELINE)
        command.upgrade(config, "head")
        after = _state(connection)
    return before, after
