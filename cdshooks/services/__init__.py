"""CDS services: one module per service, each a `SERVICE` describing hook and prefetch.

Which rules a service runs follows from its hook (rules register the hooks they
serve), so adding a rule never means editing a service.
"""

from __future__ import annotations

from dataclasses import dataclass

from cdshooks.prefetch import PrefetchKey, catalogue
from cdshooks.protocol import ServiceDescriptor


@dataclass(frozen=True)
class CdsService:
    id: str
    hook: str
    title: str
    description: str
    prefetch_keys: tuple[str, ...]
    required: frozenset[str] = frozenset({"conditions"})
    usage_requirements: str = "Needs the patient's conditions; the other prefetched data make the advice more complete."

    def prefetch(self) -> dict[str, PrefetchKey]:
        keys = catalogue()
        return {k: keys[k] for k in self.prefetch_keys if k in keys}

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
