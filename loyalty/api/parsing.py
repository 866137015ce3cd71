"""Reading request bodies: JSON a client may send, and JSON that cannot be a request.

flask-smorest reads arguments with a webargs parser. Python's ``json``
recurses once per level of nesting, so a body nested a few thousand levels
deep raises ``RecursionError`` (a 500), and one just under the limit is
still a bomb for everything that walks it later. No request of this API
nests more than a few levels, so anything deeper than :data:`MAX_DEPTH` is
a 400 before any field is looked at. So is a string holding an unpaired
surrogate (JSON's ``"\\ud800"``): it is not text, and no database driver
can encode it, so it crashed whichever write met it first. So is a number
of more than 4,300 digits, which Python will not turn into an int. A body over
``API_MAX_BYTES`` (1 MiB by default) is a 413 before it is read.
"""

from __future__ import annotations

import json
import re

from flask import current_app
from flask_smorest import abort
from webargs import core
from webargs.flaskparser import FlaskParser, is_json_request

#: Far beyond any real request (a custom event's ``properties`` included).
MAX_DEPTH = 32
#: The largest body read, unless ``API_MAX_BYTES`` says otherwise: requests of this API are a few hundred bytes.
MAX_BYTES = 1024 * 1024
SURROGATE = re.compile("[\ud800-\udfff]")


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


def has_unpaired_surrogate(value) -> bool:
    """Whether any string in ``value`` (object keys included) holds a lone surrogate, without recursing."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if SURROGATE.search(item):
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


class ApiParser(FlaskParser):
    def _raw_load_json(self, req):
        if not is_json_request(req):
            return core.missing
        limit = current_app.config.get("API_MAX_BYTES", MAX_BYTES)
        if req.content_length is not None and req.content_length > limit:
            abort(413, code="too_large", message=f"the body is larger than {limit} bytes")
        try:
            data = core.parse_json(req.get_data(cache=True))
        except RecursionError:
            data = None
            too_deep = True
        except json.JSONDecodeError:
            raise  # not JSON: webargs answers it (400)
        except ValueError:
            # A number of more than 4,300 digits: Python refuses to read it (CVE-2020-10735's limit).
            abort(400, code="bad_request", message="the JSON body holds a number too long to read")
        else:
            too_deep = depth(data) > MAX_DEPTH
        if too_deep:
            abort(400, code="bad_request", message=f"the JSON body is nested too deep (at most {MAX_DEPTH} levels)")
        if has_unpaired_surrogate(data):
            abort(
                400,
                code="bad_request",
                message="the JSON body holds an unpaired surrogate (such as \\ud800), which is not text",
            )
        return data
