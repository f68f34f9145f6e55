"""Sandbox mode: demo patients, a small FHIR server over them, and a page that plays the EHR."""
