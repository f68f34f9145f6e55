"""Flask's JSON through orjson: responses are serialised several times faster than with the standard library."""

from __future__ import annotations

from typing import Any

import orjson
from flask.json.provider import DefaultJSONProvider


class OrjsonProvider(DefaultJSONProvider):
    """`jsonify` and `request.get_json` with orjson; key order kept (CDS Hooks bodies read top-down)."""

    sort_keys = False

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        try:
            return orjson.dumps(obj, default=self.default).decode()
        except TypeError:  # what orjson cannot write (an integer beyond 64 bits): the standard library can
            return super().dumps(obj, **kwargs)

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return orjson.loads(s)

    def response(self, *args: Any, **kwargs: Any) -> Any:
        obj = self._prepare_response_obj(args, kwargs)
        return self._app.response_class(self.dumps(obj), mimetype=self.mimetype)
