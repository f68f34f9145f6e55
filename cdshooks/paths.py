"""Where the data the service ships with lives: cards, value sets and the demo patients.

They are package data of `cdshooks` (`cdshooks/data/`, which in a checkout links to the top-level
`cards/`, `valuesets/` and `fixtures/fhir/` that informaticists edit), found through
`importlib.resources`, so an installed wheel reads its own copy wherever it is installed and
whatever the working directory. Each folder can be replaced by CDSHOOKS_<NAME>_DIR.
"""

from __future__ import annotations

import os
from importlib.resources import files
from pathlib import Path

DATA = {"cards": "cards", "valuesets": "valuesets", "fixtures/fhir": "fixtures"}  # name -> folder in data/


def data_dir(name: str) -> Path:
    """`cards`, `valuesets` or `fixtures/fhir`, overridable by CDSHOOKS_<NAME>_DIR."""
    env = os.environ.get(f"CDSHOOKS_{name.split('/')[0].upper()}_DIR")
    if env:
        return Path(env)
    found = files("cdshooks") / "data" / DATA[name]
    if not isinstance(found, Path):  # a zipped install: the service reads folders, so it needs files
        raise RuntimeError(f"cdshooks must be installed as files (its {name} folder is inside an archive)")
    return found


def default_database_url() -> str:
    """SQLite in `var/` under the working directory: the service's own state, outside the installed code."""
    return f"sqlite:///{Path.cwd() / 'var' / 'cdshooks.sqlite3'}"
