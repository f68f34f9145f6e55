"""Cards not shown again: a snooze after an override with a reason, and no repeat at order-sign of a
card acted on at order-select.

- **Snooze.** A card overridden with a reason is not shown again for that patient and rule for the
  rule's snooze period (its card file's `snooze.days`, else CDSHOOKS_SNOOZE_DAYS; 0 turns it off),
  to the clinician who overrode it — or to everyone, when the reason is one the card file marks as
  patient-wide (`snooze.patientWide`, e.g. "managed by the transplant team"). Critical cards are
  never snoozed.
- **No repeat.** A card accepted or overridden at order-select is not shown at order-sign for
  ACTED_HOURS afterwards, whoever signs.

Both hold only while the card's fingerprint is unchanged (`cdshooks.fingerprint`: the rule version
and the evidence with its versions; the draft order is part of the evidence, so another order gets
its card). Patients and clinicians are keyed references (HMAC of iss | tenant | id, as in the ledger),
never ids, so a suppression for patient P at tenant A says nothing of P at tenant B. Rows are pruned
once they expire, at most once a minute per process.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Column, DateTime, Index, Integer, String, Table, bindparam, delete, insert, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from cdshooks.database import Database, Throttle, metadata
from cdshooks.ledger import LedgerCard, PatientKey
from cdshooks.protocol import FeedbackItem

log = logging.getLogger("cdshooks")

SNOOZE, ACTED = "snooze", "acted"
ACTED_HOURS = 12.0
ORDER_SELECT, ORDER_SIGN = "order-select", "order-sign"

suppression_table = Table(
    "card_suppression",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),
    Column("patient_ref", String(64), nullable=False),
    Column("rule_id", String(64), nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("user_ref", String(64), nullable=True),  # None: for every clinician
    Column("reason_code", String(200), nullable=True),
    Column("card_uuid", String(100), nullable=False),
    Column("iss", String(500), nullable=True),
    Column("tenant", String(255), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("until", DateTime(timezone=True), nullable=False, index=True),
)
# the lookup of every hook call with cards reads a patient's suppressions (the rule is its second column)
Index("ix_card_suppression_patient_rule", suppression_table.c.patient_ref, suppression_table.c.rule_id)
LOOKUP = select(  # built once: every hook call with cards runs it
    suppression_table.c.kind,
    suppression_table.c.rule_id,
    suppression_table.c.fingerprint,
    suppression_table.c.user_ref,
    suppression_table.c.until,
).where(
    suppression_table.c.patient_ref == bindparam("patient_ref"),
    suppression_table.c.until > bindparam("now"),
)  # a patient has few suppressions: the rules are told apart here, not by an IN list the driver rebuilds


@dataclass(frozen=True)
class Candidate:
    """A card about to be shown."""

    card_uuid: str
    rule_id: str
    indicator: str
    fingerprint: str


@dataclass(frozen=True)
class Suppressed:
    kind: str  # SNOOZE or ACTED
    until: datetime

    def describe(self) -> str:
        when = self.until.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
        if self.kind == SNOOZE:
            return f"snoozed until {when} (overridden with a reason)"
        return f"not shown again until {when} (acted on at order-select)"


@dataclass(frozen=True)
class SnoozePolicy:
    """Per rule: how long an override snoozes its card (days; 0: never), and which override reason codes
    snooze it for every clinician rather than the one who overrode."""

    days: float
    patient_wide: frozenset[str] = frozenset()


class Suppressions:
    def __init__(
        self,
        database: Database,
        patient_key: PatientKey,
        policies: Callable[[str], SnoozePolicy],
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.database = database
        self.patient_key = patient_key
        self.policies = policies
        self._clock = clock
        self._prune = Throttle(clock)

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)

    def hidden(
        self,
        *,
        hook: str,
        iss: str | None,
        tenant: str | None,
        patient_id: str,
        user_id: str | None,
        candidates: Iterable[Candidate],
        conn: Connection | None = None,
    ) -> dict[str, Suppressed]:
        """The candidates not to show, by card uuid (one query, in `conn`'s transaction when given; none when
        there is no candidate)."""
        # a critical card is never snoozed, and only order-sign skips what order-select acted on
        wanted = [c for c in candidates if c.fingerprint and (c.indicator != "critical" or hook == ORDER_SIGN)]
        if not wanted:
            return {}
        patient_ref = self.patient_key.reference(iss, tenant, patient_id)
        user_ref = self.patient_key.reference(iss, tenant, user_id) if user_id else None
        params = {"patient_ref": patient_ref, "now": self._now()}
        if conn is not None:
            rows = conn.execute(LOOKUP, params).all()
        else:
            with self.database.connect() as own:
                rows = own.execute(LOOKUP, params).all()
        found: dict[str, Suppressed] = {}
        for candidate in wanted:
            for row in rows:
                if (row.rule_id, row.fingerprint) != (candidate.rule_id, candidate.fingerprint):
                    continue
                snoozed = row.kind == SNOOZE and candidate.indicator != "critical" and row.user_ref in (None, user_ref)
                repeated = row.kind == ACTED and hook == ORDER_SIGN
                if snoozed or repeated:
                    until = row.until if row.until.tzinfo else row.until.replace(tzinfo=UTC)
                    current = found.get(candidate.card_uuid)
                    if current is None or until > current.until:
                        found[candidate.card_uuid] = Suppressed(row.kind, until)
        return found

    def after_feedback(self, hook: str, items: Iterable[FeedbackItem], cards: Mapping[str, LedgerCard]) -> int:
        """Record what new feedback, sent to a service of `hook`, suppresses (every item's card was issued by
        that service: the ledger check made sure); how many rows were written."""
        now = self._now()
        rows = []
        for item in items:
            card = cards.get(item.card)
            if card is None or not card.fingerprint or not card.patient_ref:
                continue
            common = {
                "patient_ref": card.patient_ref,
                "rule_id": card.rule_id,
                "fingerprint": card.fingerprint,
                "card_uuid": card.card_uuid,
                "iss": card.iss,
                "tenant": card.tenant,
                "created_at": now,
            }
            if hook == ORDER_SELECT and item.outcome in ("accepted", "overridden"):
                rows.append({**common, "kind": ACTED, "user_ref": None, "until": now + timedelta(hours=ACTED_HOURS)})
            reason = item.overrideReason.reason if item.overrideReason else None
            if item.outcome != "overridden" or reason is None or card.indicator == "critical":
                continue
            policy = self.policies(card.rule_id)
            if policy.days <= 0:
                continue
            user_ref = None if reason.code in policy.patient_wide else card.user_ref
            until = now + timedelta(days=policy.days)
            rows.append({**common, "kind": SNOOZE, "user_ref": user_ref, "reason_code": reason.code, "until": until})
        if rows:
            with self.database.begin() as conn:
                conn.execute(insert(suppression_table), [{"reason_code": None, **row} for row in rows])
        return len(rows)

    def maybe_prune(self) -> None:
        """Forget expired suppressions, if this process has not for a minute (a failure is only logged)."""
        if not self._prune.due():
            return
        try:
            with self.database.begin() as conn:
                conn.execute(delete(suppression_table).where(suppression_table.c.until < self._now()))
        except SQLAlchemyError as exc:
            log.error("suppression prune failed", extra={"error": type(exc).__name__})

    def rows(self) -> list[dict[str, object]]:
        with self.database.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(select(suppression_table).order_by(suppression_table.c.id))]
