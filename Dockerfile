# cdshooks: CDS Hooks 2.0 service. Build: docker build -t cdshooks:0.2.0 .
# Run (sandbox):    docker run --read-only --tmpfs /tmp -p 127.0.0.1:8080:8080 cdshooks:0.2.0 \
#                       cdshooks serve --sandbox --host 0.0.0.0 --port 8080
# Run (production): compose.yaml, or deploy/k8s/ — migrate first (`cdshooks db upgrade`), then set
#                   CDSHOOKS_DATABASE_URL, CDSHOOKS_TRUSTED_ISSUERS, CDSHOOKS_PUBLIC_URL, CDSHOOKS_FHIR_ALLOWLIST
#                   and CDSHOOKS_PATIENT_KEY_SECRET_FILE (a mounted secret).

# Stage 1: the wheel, from the checkout (cards, value sets, demo patients and static files as package data).
FROM python:3.11-slim AS wheel
WORKDIR /src
COPY . .
RUN pip install --no-cache-dir --quiet "setuptools>=69" wheel \
    && pip wheel --no-cache-dir --no-deps --no-build-isolation --wheel-dir /dist .

# Stage 2: the dependencies exactly as requirements.lock pins them (versions and hashes), then the wheel.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PATH=/opt/cdshooks/bin:$PATH \
    PROMETHEUS_MULTIPROC_DIR=/tmp/cdshooks-metrics
COPY requirements.lock /tmp/requirements.lock
RUN python -m venv /opt/cdshooks \
    && /opt/cdshooks/bin/pip install --quiet --require-hashes -r /tmp/requirements.lock \
    && rm /tmp/requirements.lock
COPY --from=wheel /dist/ /tmp/dist/
RUN /opt/cdshooks/bin/pip install --quiet --no-deps /tmp/dist/cdshooks-*.whl \
    && rm -r /tmp/dist \
    && mkdir -p /var/lib/cdshooks \
    && chown 10001:10001 /var/lib/cdshooks

# The code is read-only to the service; what it writes: /tmp (metrics samples, gunicorn's heartbeat
# files) and /var/lib/cdshooks (the working directory: SQLite's default file, unused with PostgreSQL).
# With a read-only root filesystem, mount both (a tmpfs or an emptyDir).
VOLUME ["/tmp", "/var/lib/cdshooks"]
WORKDIR /var/lib/cdshooks
USER 10001:10001
EXPOSE 8080
# gunicorn drains on SIGTERM: no new connections, calls in flight get --graceful-timeout seconds.
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=3s CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/livez', timeout=2)"]
CMD ["cdshooks", "serve", "--host", "0.0.0.0", "--port", "8080", "--workers", "2", "--graceful-timeout", "20"]
