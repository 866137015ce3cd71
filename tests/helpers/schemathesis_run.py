"""What both APIs' schemathesis tests check, and how many examples they try.

:data:`CHECKS`: no 500, every status and header documented, the bodies as
the document says, and valid requests accepted. :data:`CONFIG`: what JSON
Schema cannot say (semantic 422s), shared with a run of ``st`` by hand.
``API_SCHEMA_EXAMPLES`` sets :data:`EXAMPLES` (40 per operation by default).
"""

from __future__ import annotations

import os

from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.helpers import ROOT

EXAMPLES = int(os.environ.get("API_SCHEMA_EXAMPLES", "40"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    positive_data_acceptance,
]
CONFIG = ROOT / "tests" / "schemathesis.toml"


def config() -> SchemathesisConfig:
    return SchemathesisConfig.from_path(CONFIG)
