"""Running the app on gunicorn, the production WSGI server.

The default worker class is gevent: every connection is a greenlet, so connections
that send their headers slowly, or nothing at all, cost a little memory each instead
of a worker thread each, and cannot starve health probes and hook calls (with a
thread pool, 8 such connections stopped 2 workers × 4 threads). Each request's
headers must arrive within `keepalive` seconds (gunicorn wraps the read in a gevent
timeout; 5 s here), after which the connection is closed; at most
`worker_connections` connections per worker are served at once. `--worker-class
gthread` keeps the thread-pool worker for comparison. The measurements behind the
choice are in the README's Load section.

What this does not do, and a reverse proxy in front should: limit connections per
client address, bound the time a request body may take to arrive (a slow body holds
a greenlet, not a thread, until it is complete or CDSHOOKS_MAX_REQUEST_BYTES is
reached), and terminate TLS.
"""

from __future__ import annotations

import gc
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from gunicorn.app.base import BaseApplication

from cdshooks.logs import configure_logging, gunicorn_logconfig
from cdshooks.settings import ConfigurationError, Settings

WORKER_CLASSES = ("gevent", "gthread")
HEADER_TIMEOUT_SECONDS = 5  # gunicorn's keepalive: also the deadline for each request's headers under gevent
WORKER_CONNECTIONS = 1000
GRACEFUL_SECONDS = 10  # what calls in flight get after SIGTERM: the spec's budget is on the order of 500 ms
# A call's parsed body is tens of thousands of dicts and lists, freed by reference counting when the
# call ends (they hold no cycles). At Python's default threshold (700 new containers) the collector
# runs dozens of times per call and moves the live body into older generations, whose collections
# then walk it again; at 50,000 most calls end between two collections. Cycles (rare: exceptions
# with their tracebacks) are still collected.
GC_THRESHOLDS = (50_000, 20, 20)


METRICS_ENV = "PROMETHEUS_MULTIPROC_DIR"
METRICS_PREFIX = "cdshooks-metrics-"


def metrics_folder() -> Path:
    """The folder every worker writes its metric samples to (`cdshooks.metrics`), set up before anything
    imports prometheus_client: the operator's PROMETHEUS_MULTIPROC_DIR, emptied of a previous run's
    files, or a new temporary folder. It must be writable: with a read-only root filesystem, on a
    volume such as /tmp."""
    named = os.environ.get(METRICS_ENV)
    if not named:
        folder = Path(tempfile.mkdtemp(prefix=METRICS_PREFIX))
        os.environ[METRICS_ENV] = str(folder)
        return folder
    folder = Path(named)
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.db"):
        stale.unlink()
    return folder


def _worker_exited(server: Any, worker: Any) -> None:
    """gunicorn's child_exit: forget the worker's live gauges (its counters stay in the totals)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def _master_exits(folder: Path) -> Any:
    def on_exit(server: Any) -> None:
        if folder.name.startswith(METRICS_PREFIX):
            shutil.rmtree(folder, ignore_errors=True)

    return on_exit


def settle_heap() -> None:
    """Freeze what start-up loaded (value sets, the ICD-10-CM tree, cards: never garbage, so never
    scanned, and shared with forked workers, not copied) and set the collector's thresholds."""
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


class CdsHooksServer(BaseApplication):  # type: ignore[misc]
    def __init__(self, settings: Settings, options: dict[str, Any]) -> None:
        self.settings = settings
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            if key in self.cfg.settings:  # settings a newer gunicorn added are skipped on an older one
                self.cfg.set(key, value)

    def load(self) -> Any:
        from cdshooks import tracing
        from cdshooks.app import create_app

        tracing.configure()  # in the worker, after the fork: the exporter's thread is the worker's own
        app = create_app(self.settings, announce=False)  # the master announced the configuration
        settle_heap()
        return app


def options(
    host: str, port: int, workers: int, threads: int, worker_class: str, *, graceful_timeout: int = GRACEFUL_SECONDS
) -> dict[str, Any]:
    """gunicorn's settings for `cdshooks serve`.

    On SIGTERM (an orchestrator stopping the pod) gunicorn closes its listening socket at once, so new
    connections are refused, lets calls in flight finish for up to `graceful_timeout` seconds, then
    stops the workers that are still busy, and exits 0."""
    if worker_class not in WORKER_CLASSES:
        raise ValueError(f"worker class must be one of {', '.join(WORKER_CLASSES)}")
    return {
        "bind": f"{host}:{port}",
        "workers": workers,
        "worker_class": worker_class,
        "threads": threads,  # gthread only
        "worker_connections": WORKER_CONNECTIONS,  # gevent: connections served at once per worker
        "timeout": 30,
        "graceful_timeout": graceful_timeout,
        "keepalive": HEADER_TIMEOUT_SECONDS,
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "info",
        "logconfig_dict": gunicorn_logconfig(),
        "limit_request_line": 8190,
        "limit_request_fields": 100,
        # gunicorn >= 25.1 opens a control socket (worker count, reload, shutdown) in the home directory:
        # not something this service offers, and two instances on one host would share its path
        "control_socket_disable": True,
    }


def serve(
    settings: Settings,
    host: str,
    port: int,
    workers: int,
    threads: int,
    worker_class: str = "gevent",
    *,
    patched: bool = False,
    graceful_timeout: int = GRACEFUL_SECONDS,
) -> None:
    """Run gunicorn. For gevent the caller patches the standard library before anything imports it
    (`cdshooks.cli`) and says whether it could."""
    server_options = options(host, port, workers, threads, worker_class, graceful_timeout=graceful_timeout)
    if worker_class == "gevent" and not patched:
        raise ConfigurationError(
            "the gevent worker needs a process that has not imported ssl before cdshooks serve patched it: "
            "run `cdshooks serve` as a command of its own, or use --worker-class gthread"
        )
    folder = metrics_folder()
    server_options.update(child_exit=_worker_exited, on_exit=_master_exits(folder))
    from cdshooks.app import create_app

    configure_logging()
    try:
        create_app(settings)  # fail fast, in the master, on bad cards, value sets or configuration
    except BaseException:
        _master_exits(folder)(None)
        raise
    settle_heap()  # the workers fork from here
    CdsHooksServer(settings, server_options).run()
