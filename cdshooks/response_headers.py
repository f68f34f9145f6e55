"""Headers every response carries, as a Flask extension.

`X-Content-Type-Options: nosniff` on every response, so that no browser reads a JSON
answer (which may echo a client's text in an error) as HTML or script. CDS answers
(`/cds-services…`) also carry `Cache-Control: no-store`: they are advice about one
patient, and no shared cache between the EHR and this service should keep them.
"""

from __future__ import annotations

from flask import Flask, Response, request

CDS_PATH = "/cds-services"


class ResponseHeaders:
    def init_app(self, app: Flask) -> None:
        app.extensions["cdshooks.response_headers"] = self
        app.after_request(self.add)

    def add(self, response: Response) -> Response:
        response.headers["X-Content-Type-Options"] = "nosniff"
        if request.path.startswith(CDS_PATH):
            response.headers.setdefault("Cache-Control", "no-store")
        return response
