"""Running the app on gunicorn, the production WSGI server."""

from __future__ import annotations

from typing import Any

from gunicorn.app.base import BaseApplication

from cdshooks.logs import configure_logging
from cdshooks.settings import Settings


class CdsHooksServer(BaseApplication):  # type: ignore[misc]
    def __init__(self, settings: Settings, options: dict[str, Any]) -> None:
        self.settings = settings
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        from cdshooks.app import create_app

        return create_app(self.settings)


def serve(settings: Settings, host: str, port: int, workers: int, threads: int) -> None:
    from cdshooks.app import create_app

    configure_logging()
    create_app(settings)  # fail fast, in the master, on bad cards, value sets or configuration
    CdsHooksServer(
        settings,
        {
            "bind": f"{host}:{port}",
            "workers": workers,
            "threads": threads,
            "worker_class": "gthread",
            "timeout": 30,
            "graceful_timeout": 10,
            "keepalive": 5,
            "accesslog": None,
            "errorlog": "-",
            "loglevel": "warning",
            "limit_request_line": 8190,
            "limit_request_fields": 100,
        },
    ).run()
