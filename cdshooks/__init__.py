"""cdshooks: a CDS Hooks 2.0 service carrying skin-oncology and transplant guideline cards."""

__version__ = "0.2.0"
