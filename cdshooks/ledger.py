"""The ledger of issued cards: what this service answered, to whom, so feedback can be checked against it.

For every hook response with cards, one insert records each card (one row per card)
with its suggestions' uuids, the service, the rule id and version that made the card,
the hookInstance, the time, and the calling client's `iss` and `tenant`. It is written
in the same transaction as the call's replay row and committed before the response is
sent, so feedback may arrive at once (`cdshooks.client_auth.commit_with_token`).

No patient data is kept, only a keyed patient reference for governance reporting:
HMAC-SHA256(CDSHOOKS_PATIENT_KEY_SECRET, iss + "|" + tenant + "|" + patientId) in hex, with
"" for an absent iss (sandbox) or tenant. Issuer names carry no "|" (checked at start-up)
and FHIR ids cannot, so the message is unambiguous. Without the secret the reference
cannot be linked back to a patient, nor computed for a guessed id; `patient_key_id`
names the key that made it, so a report can tell references made before and after a
key change apart. A hookInstance that is not a UUID is kept only as a digest, as in
the log. Rows older than CDSHOOKS_LEDGER_RETENTION_DAYS (default 90) are pruned, at
most once a minute per process; feedback for a pruned card is refused like any unknown
card.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Boolean, Column, DateTime, Integer, String, Table, Text, delete, insert, select, true
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from cdshooks.database import Database, Throttle, metadata
from cdshooks.protocol import HookResponse
from cdshooks.render import evidence_of

log = logging.getLogger("cdshooks")

UUID_LENGTH = 100

issued_card_table = Table(
    "issued_card",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("card_uuid", String(UUID_LENGTH), nullable=False, unique=True),
    Column("service_id", String(200), nullable=False),
    Column("rule_id", String(64), nullable=False),
    Column("rule_version", String(64), nullable=False),
    Column("hook_instance", String(200), nullable=True),
    Column("issued_at", DateTime(timezone=True), nullable=False, index=True),
    Column("iss", String(500), nullable=True),
    Column("tenant", String(255), nullable=True),
    Column("patient_ref", String(64), nullable=False),
    Column("patient_key_id", String(16), nullable=False),
    # the card's suggestions' uuids, space-separated (the service's own UUIDs: none holds a space)
    Column("suggestion_uuids", Text, nullable=False, server_default=""),
    Column("shown", Boolean, nullable=False, server_default=true()),  # False: a shadow rule's card, never shown
    Column("indicator", String(16), nullable=True),
    Column("fingerprint", String(64), nullable=True),  # cdshooks.fingerprint: the rule version and its evidence
    Column("user_ref", String(64), nullable=True),  # the clinician (context.userId), keyed like patient_ref
)

INSERT_CARDS = insert(issued_card_table)  # built once: every hook call with cards runs it


class PatientKey:
    """HMAC-SHA256 patient references under CDSHOOKS_PATIENT_KEY_SECRET (a random key when none is configured)."""

    def __init__(self, secret: bytes | None) -> None:
        self._secret = secret or secrets.token_bytes(32)
        self.key_id = hashlib.sha256(b"cdshooks patient key id\x00" + self._secret).hexdigest()[:16]

    def reference(self, iss: str | None, tenant: str | None, patient_id: str) -> str:
        message = f"{iss or ''}|{tenant or ''}|{patient_id}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    def __repr__(self) -> str:  # never let the secret reach a log through a repr
        return f"PatientKey(key_id={self.key_id!r})"


@dataclass(frozen=True)
class IssuedCard:
    card_uuid: str
    rule_id: str
    rule_version: str
    suggestion_uuids: tuple[str, ...]
    indicator: str = ""
    fingerprint: str | None = None
    shown: bool = True


@dataclass(frozen=True)
class Issuance:
    """One hook response's cards, and who they were issued to."""

    service_id: str
    hook_instance: str | None  # as logged: a UUID, or a digest of anything else
    iss: str | None
    tenant: str | None
    patient_id: str
    cards: tuple[IssuedCard, ...]
    user_id: str | None = None  # context.userId: whose override snoozes a card


def issued_cards(
    response: HookResponse, fingerprints: Mapping[str, str] | None = None, *, shown: bool = True
) -> tuple[IssuedCard, ...]:
    """The cards of a response as the ledger keeps them (a card without a uuid cannot get feedback: skipped)."""
    found = []
    for card in response.cards:
        if not card.uuid:
            continue
        evidence = evidence_of(card)
        found.append(
            IssuedCard(
                card_uuid=card.uuid,
                rule_id=str(evidence.get("rule", "")),
                rule_version=str(evidence.get("version", "")),
                suggestion_uuids=tuple(s.uuid for s in card.suggestions or () if s.uuid),
                indicator=card.indicator,
                fingerprint=(fingerprints or {}).get(card.uuid),
                shown=shown,
            )
        )
    return tuple(found)


@dataclass(frozen=True)
class LedgerCard:
    """A card as recorded, for checking feedback against it (and for what the feedback then suppresses)."""

    card_uuid: str
    service_id: str
    iss: str | None
    tenant: str | None
    suggestion_uuids: frozenset[str]
    rule_id: str = ""
    indicator: str | None = None
    fingerprint: str | None = None
    patient_ref: str = ""
    user_ref: str | None = None


class Ledger:
    def __init__(
        self,
        database: Database,
        *,
        patient_key: PatientKey,
        retention_days: float = 90.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if retention_days <= 0:
            raise ValueError("CDSHOOKS_LEDGER_RETENTION_DAYS must be positive")
        self.database = database
        self.patient_key = patient_key
        self.retention = timedelta(days=retention_days)
        self._clock = clock
        self._prune = Throttle(clock)

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)

    def record(self, conn: Connection, issuance: Issuance) -> None:
        """Write the issuance's cards and suggestions in the caller's transaction (nothing when it has no cards)."""
        if not issuance.cards:
            return
        now = self._now()
        patient_ref = self.patient_key.reference(issuance.iss, issuance.tenant, issuance.patient_id)
        user_ref = None
        if issuance.user_id:
            user_ref = self.patient_key.reference(issuance.iss, issuance.tenant, issuance.user_id)
        conn.execute(
            INSERT_CARDS,
            [
                {
                    "card_uuid": card.card_uuid,
                    "service_id": issuance.service_id,
                    "rule_id": card.rule_id,
                    "rule_version": card.rule_version,
                    "hook_instance": issuance.hook_instance,
                    "issued_at": now,
                    "iss": issuance.iss,
                    "tenant": issuance.tenant,
                    "patient_ref": patient_ref,
                    "patient_key_id": self.patient_key.key_id,
                    "suggestion_uuids": " ".join(card.suggestion_uuids),
                    "shown": card.shown,
                    "indicator": card.indicator or None,
                    "fingerprint": card.fingerprint,
                    "user_ref": user_ref,
                }
                for card in issuance.cards
            ],
        )

    def cards(self, card_uuids: Iterable[str]) -> dict[str, LedgerCard]:
        """The shown cards among `card_uuids`, with their suggestions, by uuid (one query, any batch size). A shadow
        rule's card is recorded but was never shown: feedback naming it is answered as for an unknown card."""
        wanted = sorted(set(card_uuids))
        if not wanted:
            return {}
        cards = issued_card_table
        query = select(
            cards.c.card_uuid, cards.c.service_id, cards.c.iss, cards.c.tenant, cards.c.suggestion_uuids,
            cards.c.rule_id, cards.c.indicator, cards.c.fingerprint, cards.c.patient_ref, cards.c.user_ref,
        )  # fmt: skip
        with self.database.connect() as conn:
            rows = conn.execute(query.where(cards.c.card_uuid.in_(wanted), cards.c.shown.is_(True))).all()
        return {
            row.card_uuid: LedgerCard(
                row.card_uuid,
                row.service_id,
                row.iss,
                row.tenant,
                frozenset(row.suggestion_uuids.split()),
                row.rule_id,
                row.indicator,
                row.fingerprint,
                row.patient_ref,
                row.user_ref,
            )
            for row in rows
        }

    def maybe_prune(self) -> None:
        """Prune if this process has not done so for a minute (call it outside any open transaction).

        Housekeeping: a failure is logged and tried again a minute later, never a failed call.
        """
        if not self._prune.due():
            return
        try:
            self.prune()
        except SQLAlchemyError as exc:
            log.error("ledger prune failed", extra={"error": type(exc).__name__})

    def prune(self) -> int:
        """Forget cards issued longer ago than the retention period; return how many."""
        cutoff = self._now() - self.retention
        with self.database.begin() as conn:
            return conn.execute(delete(issued_card_table).where(issued_card_table.c.issued_at < cutoff)).rowcount

    def rows(self) -> list[dict[str, object]]:
        """Every recorded card (for reports and tests)."""
        with self.database.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(select(issued_card_table).order_by(issued_card_table.c.id))]
