"""A resource's blueprint: what every blueprint of the API shares (a key on every request, JSON errors, the parser).

Apart from the package's ``init_app`` so that the resource modules
(:mod:`loyalty.api.v1`) need not import the package that registers them.
"""

from __future__ import annotations

from flask_smorest import Blueprint

from loyalty.api.auth import require_api_key
from loyalty.api.errors import handle_domain_error, handle_unexpected
from loyalty.api.parsing import ApiParser
from loyalty.errors import LoyaltyError


class ResourceBlueprint(Blueprint):
    ARGUMENTS_PARSER = ApiParser()


def resource(name: str, import_name: str, description: str) -> Blueprint:
    """A resource's blueprint: every request needs a key; every error answers JSON; bodies nest a few levels."""
    blp = ResourceBlueprint(name, import_name, description=description)
    blp.before_request(require_api_key)
    blp.register_error_handler(LoyaltyError, handle_domain_error)
    blp.register_error_handler(Exception, handle_unexpected)
    return blp
