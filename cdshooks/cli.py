"""Command line: `cdshooks serve`, `cdshooks call` and `cdshooks db`.

Modules are imported inside the commands: `serve` with the gevent worker class has to
patch the standard library (sockets, ssl, threading) before Flask, requests or
SQLAlchemy are imported, so that they all cooperate with gevent.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any


def _serve(args: argparse.Namespace) -> int:
    patched = args.worker_class == "gevent" and _patch_for_gevent()
    from cdshooks.server import serve
    from cdshooks.settings import ConfigurationError, Settings

    try:
        settings = Settings.from_env(sandbox=args.sandbox)
        serve(
            settings, args.host, args.port, args.workers, args.threads, args.worker_class,
            patched=patched, graceful_timeout=args.graceful_timeout,
        )  # fmt: skip
    except (ConfigurationError, ValueError) as exc:
        print(f"cdshooks: cannot start: {exc}", file=sys.stderr)
        return 2
    return 0


def _patch_for_gevent() -> bool:
    """Patch the standard library for gevent, if nothing has imported ssl yet; whether the process is patched.

    Patching after ssl was imported leaves modules holding the unpatched ssl (urllib3 among them), and
    their https connections would block the worker: a process in that state is not patched at all, and
    `cdshooks serve` then refuses to run the gevent worker in it (see `cdshooks.server.serve`).
    """
    from gevent import monkey

    if monkey.is_module_patched("socket"):
        return True
    if "ssl" in sys.modules:
        return False
    monkey.patch_all()  # the same call gunicorn's gevent worker makes again after the fork
    return True


def _load_json(path: str) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SystemExit(f"cdshooks: cannot read {path}: {exc}") from None
    if not isinstance(data, dict):
        raise SystemExit(f"cdshooks: {path} is not a FHIR resource")
    return data


def _call(args: argparse.Namespace) -> int:
    from cdshooks.errors import ApiError
    from cdshooks.logs import configure_logging
    from cdshooks.pipeline import call_service
    from cdshooks.sandbox.ehr import build_hook_request
    from cdshooks.sandbox.store import BundleStore, StoreError
    from cdshooks.services import all_services
    from cdshooks.settings import Settings

    configure_logging()

    services = [s for s in all_services().values() if s.hook == args.hook]
    if args.service:
        services = [s for s in services if s.id == args.service]
    if not services:
        print(f"cdshooks: no service answers hook {args.hook!r}", file=sys.stderr)
        return 2
    try:
        store = BundleStore.from_file(Path(args.bundle))
    except StoreError as exc:
        print(f"cdshooks: {exc}", file=sys.stderr)
        return 2
    patient_id = args.patient
    if not patient_id:
        patients = store.patients()
        if len(patients) != 1:
            print("cdshooks: the bundle must hold exactly one Patient, or pass --patient", file=sys.stderr)
            return 2
        patient_id = patients[0].get("id")
    draft = _load_json(args.draft) if args.draft else None
    if args.hook != "patient-view" and draft is None:
        print(f"cdshooks: {args.hook} needs --draft FILE (a draft order or a Bundle of them)", file=sys.stderr)
        return 2
    request = build_hook_request(services[0], store, patient_id, draft=draft, selections=args.select or None)
    settings = Settings.from_env(sandbox=True)
    try:
        outcome = call_service(services[0], request, settings, explain=args.explain)
    except ApiError as exc:
        print(json.dumps({"status": exc.status, **exc.body()}, indent=2))
        return 1
    if args.show_request:
        print(json.dumps(request, indent=2), file=sys.stderr)
    print(json.dumps(outcome.response.to_json(), indent=2))
    if outcome.explanation is not None:
        print(outcome.explanation.to_text(), file=sys.stderr)
    return 0


def _database_url(args: argparse.Namespace) -> str:
    """--database-url, else CDSHOOKS_DATABASE_URL, else the service's default (var/ under this folder)."""
    from cdshooks.paths import default_database_url

    return str(args.database_url or os.environ.get("CDSHOOKS_DATABASE_URL") or default_database_url())


def _db(args: argparse.Namespace) -> int:
    """`db upgrade` migrates CDSHOOKS_DATABASE_URL (or --database-url) to the head; `db status` says where
    it stands and exits 1 unless it is at the head."""
    from sqlalchemy.exc import SQLAlchemyError

    from cdshooks.database import Database, shown
    from cdshooks.schema import UnknownSchema, state, upgrade

    url = _database_url(args)
    database = Database(url)
    try:
        if args.action == "status":
            found = state(database)
            print(f"{shown(url)}: {found.advice()}")
            return 0 if found.at_head else 1
        before, after = upgrade(database)
    except UnknownSchema as exc:
        print(f"cdshooks: {exc}", file=sys.stderr)
        return 2
    except SQLAlchemyError as exc:
        print(f"cdshooks: cannot reach {shown(url)}: {type(exc).__name__}: {exc.orig or exc}", file=sys.stderr)
        return 2
    finally:
        database.close()
    print(f"{shown(url)}: was {before.describe()}; now {after.describe()}")
    return 0


def _report(args: argparse.Namespace) -> int:
    """`report`: card outcomes per rule and version from the ledger and feedback (never a userComment)."""
    from datetime import UTC, datetime

    from sqlalchemy.exc import SQLAlchemyError

    from cdshooks.database import Database, shown
    from cdshooks.report import ChartUnavailable, as_text, build, chart_png

    since = None
    if args.since:
        try:
            since = datetime.fromisoformat(args.since).replace(tzinfo=UTC)
        except ValueError:
            print(f"cdshooks: --since {args.since!r} is not a date (YYYY-MM-DD)", file=sys.stderr)
            return 2
    url = _database_url(args)
    database = Database(url)
    try:
        figures = build(database, since=since, tenant=args.tenant)
    except SQLAlchemyError as exc:
        print(f"cdshooks: cannot read {shown(url)}: {type(exc).__name__}", file=sys.stderr)
        return 2
    finally:
        database.close()
    print(as_text(figures, since=since, tenant=args.tenant))
    if args.png:
        try:
            Path(args.png).write_bytes(chart_png(figures))
        except ChartUnavailable as exc:
            print(f"cdshooks: {exc}", file=sys.stderr)
            return 2
        print(f"chart: {args.png}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="cdshooks", description="CDS Hooks 2.0 service for skin oncology")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the service on gunicorn")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument("--workers", type=int, default=2)
    serve.add_argument("--threads", type=int, default=4, help="threads per worker (gthread worker class only)")
    serve.add_argument(
        "--worker-class",
        choices=["gevent", "gthread"],
        default="gevent",
        help="gevent (default): slow or idle connections cost a greenlet, not a thread; gthread: a thread pool",
    )
    serve.add_argument(
        "--graceful-timeout",
        type=int,
        default=10,
        help="seconds calls in flight may take to finish after SIGTERM (new connections are refused at once)",
    )
    serve.add_argument(
        "--sandbox", action="store_true", help="no authentication, demo page and data (never in production)"
    )
    serve.set_defaults(func=_serve)

    call = sub.add_parser("call", help="run a hook offline against a FHIR bundle file and print the response")
    call.add_argument("hook", choices=["patient-view", "order-select", "order-sign"])
    call.add_argument("--bundle", required=True, help="FHIR R4 Bundle with the patient's data")
    call.add_argument("--draft", help="draft order (MedicationRequest/ServiceRequest) or a Bundle of them")
    call.add_argument("--select", action="append", help="selected order reference (order-select); default: all")
    call.add_argument("--patient", help="Patient id, when the bundle holds several patients")
    call.add_argument("--service", help="service id, when several answer the hook")
    call.add_argument("--show-request", action="store_true", help="also print the request sent (to stderr)")
    call.add_argument(
        "--explain",
        action="store_true",
        help="also print, for each rule, whether it fired and why not (to stderr; stdout stays the response)",
    )
    call.set_defaults(func=_call)

    report = sub.add_parser("report", help="card outcomes per rule: issued, accepted, overridden, why, how fast")
    report.add_argument("--since", help="only cards issued on or after this date (YYYY-MM-DD)")
    report.add_argument("--tenant", help="only cards issued to this tenant")
    report.add_argument("--png", help="also draw the chart into this PNG file (needs the report extra)")
    report.add_argument("--database-url", help="SQLAlchemy URL (default: CDSHOOKS_DATABASE_URL, else var/ here)")
    report.set_defaults(func=_report)

    db = sub.add_parser("db", help="the database schema: upgrade it (once per deployment) or show where it stands")
    db.add_argument("action", choices=["upgrade", "status"])
    db.add_argument("--database-url", help="SQLAlchemy URL (default: CDSHOOKS_DATABASE_URL, else var/ here)")
    db.set_defaults(func=_db)

    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
