"""The benchmark's baseline: a trivial Flask route on the same gunicorn settings as `cdshooks serve`.

It parses the body as any Flask app would (`request.get_json()`) and answers a JSON
body of the size asked for (`?size=`, the service's answer for the same request), so
that the service is measured against what its own web stack costs.

    python scripts/bench/baseline.py --port P [--workers 2] [--worker-class gevent]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--worker-class", default="gevent")
    args = parser.parse_args()
    if args.worker_class == "gevent":
        from gevent import monkey

        monkey.patch_all()  # as `cdshooks serve` does, before anything imports ssl
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from flask import Flask, Response, request
    from gunicorn.app.base import BaseApplication

    from cdshooks.server import options

    app = Flask("baseline")

    @app.get("/healthz")
    def healthz() -> Response:  # what the benchmark waits on before it starts
        return Response(b'{"status":"ok"}', mimetype="application/json")

    @app.post("/baseline")
    def baseline() -> Response:
        body = request.get_json()
        size = int(request.args.get("size", "64"))
        head = b'{"cards":[],"entries":%d,"pad":"' % len(body.get("prefetch") or {})
        return Response(head + b"x" * max(0, size - len(head) - 2) + b'"}', mimetype="application/json")

    class Baseline(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            for key, value in options("127.0.0.1", args.port, args.workers, args.threads, args.worker_class).items():
                if key in self.cfg.settings:
                    self.cfg.set(key, value)

        def load(self) -> Flask:
            return app

    Baseline().run()


if __name__ == "__main__":
    main()
