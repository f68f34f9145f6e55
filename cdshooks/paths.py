"""Where the data the service ships with lives (cards, value sets, demo fixtures)."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def data_dir(name: str) -> Path:
    """`cards`, `valuesets` or `fixtures/fhir`, overridable by CDSHOOKS_<NAME>_DIR."""
    env = os.environ.get(f"CDSHOOKS_{name.split('/')[0].upper()}_DIR")
    return Path(env) if env else ROOT / name
