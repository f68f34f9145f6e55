"""cdshooks: a CDS Hooks 2.0 service carrying skin-oncology and transplant guideline cards."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("cdshooks")  # pyproject.toml's, as installed
except PackageNotFoundError:  # run from a checkout that was never installed
    __version__ = "0+unknown"
