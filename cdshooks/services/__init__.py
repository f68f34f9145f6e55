"""CDS services: one module per service, each a `SERVICE` naming its hook and describing itself.

Which rules a service runs follows from its hook (rules declare the hooks they
serve), and its prefetch from those rules' declared data domains (through the
data-domain table), so adding a rule or a domain never means editing a service.
"""

from __future__ import annotations

from dataclasses import dataclass

from cdshooks.domains import PrefetchKey, prefetch_keys
from cdshooks.protocol import ServiceDescriptor
from cdshooks.rules import rules_for

USAGE = "Needs the patient's conditions; the other prefetched data make the advice more complete."
ALWAYS_READ = frozenset({"patient", "conditions"})  # whether cards may be shown at all; what every rule starts from


@dataclass(frozen=True)
class CdsService:
    id: str
    hook: str
    title: str
    description: str
    required: frozenset[str] = frozenset({"conditions"})  # prefetch keys without which the service answers 412
    usage_requirements: str = USAGE

    def prefetch(self) -> dict[str, PrefetchKey]:
        """The templates of every data domain the hook's rules look at, plus the required ones."""
        return prefetch_keys(ALWAYS_READ.union(*(r.domains for r in rules_for(self.hook))))

    def descriptor(self) -> ServiceDescriptor:
        return ServiceDescriptor(
            hook=self.hook,  # type: ignore[arg-type]
            title=self.title,
            description=self.description,
            id=self.id,
            prefetch={k: v.template for k, v in self.prefetch().items()},
            usageRequirements=self.usage_requirements,
        )


def all_services() -> dict[str, CdsService]:
    from cdshooks.services import order_select, order_sign, patient_view

    return {s.id: s for s in (patient_view.SERVICE, order_select.SERVICE, order_sign.SERVICE)}
