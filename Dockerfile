# cdshooks: CDS Hooks 2.0 service. Build: docker build -t cdshooks .
# Run (sandbox):    docker run -p 8080:8080 cdshooks cdshooks serve --sandbox --host 0.0.0.0 --port 8080
# Run (production): set CDSHOOKS_TRUSTED_ISSUERS, CDSHOOKS_FHIR_ALLOWLIST, CDSHOOKS_PUBLIC_URL, CDSHOOKS_DATABASE_URL,
#                   CDSHOOKS_PATIENT_KEY_SECRET_FILE (a mounted secret)
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

COPY pyproject.toml README.md ./
COPY cdshooks ./cdshooks
COPY cards ./cards
COPY valuesets ./valuesets
COPY fixtures ./fixtures
RUN pip install -e . && useradd --system --home /app cdshooks && mkdir -p /app/var && chown cdshooks /app/var

USER cdshooks
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz')"
CMD ["cdshooks", "serve", "--host", "0.0.0.0", "--port", "8080", "--workers", "2", "--threads", "4"]
