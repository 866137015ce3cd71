"""Reading request bodies: JSON a client may send, and JSON nested too deep to be a request.

flask-smorest reads arguments with a webargs parser. Python's ``json``
recurses once per level of nesting, so a body nested a few thousand levels
deep raises ``RecursionError`` (a 500), and one just under the limit is
still a bomb for everything that walks it later. No request of this API
nests more than a few levels, so anything deeper than :data:`MAX_DEPTH` is
a 400 before any field is looked at.
"""

from __future__ import annotations

from flask_smorest import abort
from webargs import core
from webargs.flaskparser import FlaskParser, is_json_request

#: Far beyond any real request (a custom event's ``properties`` included).
MAX_DEPTH = 32


def depth(value) -> int:
    """How deeply ``value`` nests lists and objects (a scalar is 0), without recursing."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        deepest = max(deepest, level)
        if level > MAX_DEPTH:
            return level
        stack.extend((child, level + 1) for child in children)
    return deepest


class ApiParser(FlaskParser):
    def _raw_load_json(self, req):
        if not is_json_request(req):
            return core.missing
        try:
            data = core.parse_json(req.get_data(cache=True))
        except RecursionError:
            data = None
            too_deep = True
        else:
            too_deep = depth(data) > MAX_DEPTH
        if too_deep:
            abort(400, code="bad_request", message=f"the JSON body is nested too deep (at most {MAX_DEPTH} levels)")
        return data
