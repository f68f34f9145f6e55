"""Card outcomes for a governance board: per rule and version, how many cards were issued, accepted,
overridden or left without feedback, the most frequent override reasons, and how long feedback took —
from the ledger joined with the feedback (`cdshooks report`, and the sandbox page).

A card's outcome is its latest feedback. Shadow rules' cards (recorded, never shown) are counted as
their would-be volume. Free text never leaves the database: a reason is its coding's display (or
code), never `userComment`, which may hold patient data.
"""

from __future__ import annotations

import io
import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from cdshooks.database import Database
from cdshooks.feedback import feedback_table
from cdshooks.ledger import issued_card_table

BATCH = 500
TOP_REASONS = 3


@dataclass
class RuleFigures:
    rule: str
    version: str
    shown: bool
    issued: int = 0
    accepted: int = 0
    overridden: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    minutes_to_feedback: list[float] = field(default_factory=list)

    @property
    def no_feedback(self) -> int:
        return self.issued - self.accepted - self.overridden

    @property
    def median_minutes(self) -> float | None:
        return statistics.median(self.minutes_to_feedback) if self.minutes_to_feedback else None

    def to_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "version": self.version,
            "mode": "shown" if self.shown else "shadow",
            "issued": self.issued,
            "accepted": self.accepted,
            "overridden": self.overridden,
            "noFeedback": self.no_feedback,
            "topOverrideReasons": [{"reason": r, "count": n} for r, n in self.reasons.most_common(TOP_REASONS)],
            "medianMinutesToFeedback": self.median_minutes,
        }


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _reason(override: Any, rule: str, displays: dict[tuple[str, str], str]) -> str | None:
    """An override's reason as the card offered it: its display (the card file's, for a bare code)."""
    if not isinstance(override, dict) or not isinstance(override.get("reason"), dict):
        return None
    coding = override["reason"]
    code = str(coding.get("code") or "")
    return str(coding.get("display") or displays.get((rule, code)) or code) or None


def _displays() -> dict[tuple[str, str], str]:
    """(rule, override reason code) -> the reason's display, from every card file and variant."""
    from cdshooks.catalogue import catalogue

    found = {}
    for rule, entry in catalogue().items():
        for reason in entry.card.all_override_reasons():
            found.setdefault((rule, reason.code), reason.display)
    return found


def build(database: Database, *, since: datetime | None = None, tenant: str | None = None) -> list[RuleFigures]:
    """The figures per rule, version and mode (shown or shadow), in rule order."""
    cards = issued_card_table
    query = select(cards.c.card_uuid, cards.c.rule_id, cards.c.rule_version, cards.c.shown, cards.c.issued_at)
    if since is not None:
        query = query.where(cards.c.issued_at >= since)
    if tenant is not None:
        query = query.where(cards.c.tenant == tenant)
    figures: dict[tuple[str, str, bool], RuleFigures] = {}
    displays = _displays()
    with database.connect() as conn:
        issued = conn.execute(query.order_by(cards.c.id)).all()
        for start in range(0, len(issued), BATCH):
            batch = issued[start : start + BATCH]
            feedback: dict[str, list[Any]] = {}
            wanted = [row.card_uuid for row in batch if row.shown]
            if wanted:
                rows = conn.execute(
                    select(
                        feedback_table.c.card_uuid,
                        feedback_table.c.outcome,
                        feedback_table.c.override_reason,
                        feedback_table.c.received_at,
                    )
                    .where(feedback_table.c.card_uuid.in_(wanted))
                    .order_by(feedback_table.c.received_at, feedback_table.c.id)
                )
                for row in rows:
                    feedback.setdefault(row.card_uuid, []).append(row)
            for card in batch:
                key = (card.rule_id, card.rule_version, bool(card.shown))
                entry = figures.setdefault(key, RuleFigures(*key))
                entry.issued += 1
                items = feedback.get(card.card_uuid)
                if not items:
                    continue
                latest = items[-1]
                if latest.outcome == "accepted":
                    entry.accepted += 1
                else:
                    entry.overridden += 1
                    reason = _reason(latest.override_reason, card.rule_id, displays)
                    if reason:
                        entry.reasons[reason] += 1
                waited = _aware(items[0].received_at) - _aware(card.issued_at)
                entry.minutes_to_feedback.append(max(waited.total_seconds(), 0.0) / 60)
    return sorted(figures.values(), key=lambda f: (not f.shown, f.rule, f.version))


def _share(part: int, whole: int) -> str:
    return f"{part} ({round(100 * part / whole)}%)" if whole else str(part)


def _duration(minutes: float | None) -> str:
    if minutes is None:
        return "–"
    if minutes < 60:
        return f"{minutes:.0f} min"
    if minutes < 48 * 60:
        return f"{minutes / 60:.1f} h"
    return f"{minutes / 1440:.1f} d"


def as_text(figures: list[RuleFigures], *, since: datetime | None, tenant: str | None) -> str:
    scope = f"since {since.date().isoformat()}" if since else "all time"
    lines = [f"Card outcomes, {scope}, tenant {tenant or 'any'} (a card's outcome is its latest feedback)"]
    header = (
        "rule",
        "version",
        "mode",
        "issued",
        "accepted",
        "overridden",
        "no feedback",
        "to feedback",
        "top override reasons",
    )
    rows = [header]
    for f in figures:
        reasons = ", ".join(f"{r} ({n})" for r, n in f.reasons.most_common(TOP_REASONS)) or "–"
        if f.shown:
            rows.append((f.rule, f.version, "shown", str(f.issued), _share(f.accepted, f.issued),
                         _share(f.overridden, f.issued), _share(f.no_feedback, f.issued),
                         _duration(f.median_minutes), reasons))  # fmt: skip
        else:
            rows.append((f.rule, f.version, "shadow", f"{f.issued} (would-be)", "–", "–", "–", "–", "–"))
    if not figures:
        return lines[0] + "\n(no cards issued)"
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines += ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows]
    return "\n".join(lines)


class ChartUnavailable(RuntimeError):
    """matplotlib (the `report` extra) is not installed."""


def chart_png(figures: list[RuleFigures], *, title: str = "Card outcomes per rule") -> bytes:
    """A horizontal bar per rule and version: accepted, overridden, no feedback; shadow rules' would-be volume."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        from matplotlib import pyplot
    except ImportError:
        raise ChartUnavailable("the chart needs matplotlib: pip install 'cdshooks[report]'") from None
    labels = [f"{f.rule} {f.version}" + ("" if f.shown else " (shadow)") for f in figures] or ["(no cards)"]
    figure, axes = pyplot.subplots(figsize=(8, 0.5 * len(labels) + 1.6), dpi=100)
    positions = list(range(len(labels)))
    accepted = [f.accepted if f.shown else 0 for f in figures] or [0]
    overridden = [f.overridden if f.shown else 0 for f in figures] or [0]
    silent = [f.no_feedback if f.shown else 0 for f in figures] or [0]
    shadow = [0 if f.shown else f.issued for f in figures] or [0]
    left = [0] * len(labels)
    for values, colour, name, hatch in (
        (accepted, "#2a9d8f", "accepted", None),
        (overridden, "#e76f51", "overridden", None),
        (silent, "#adb5bd", "no feedback", None),
        (shadow, "#ffffff", "shadow (not shown)", "//"),
    ):
        axes.barh(positions, values, left=left, color=colour, label=name, hatch=hatch, edgecolor="#495057")
        left = [a + b for a, b in zip(left, values, strict=True)]
    axes.set_yticks(positions, labels)
    axes.invert_yaxis()
    axes.set_xlabel("cards issued")
    axes.set_title(title)
    axes.legend(loc="lower right", fontsize="small")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    pyplot.close(figure)
    return buffer.getvalue()
