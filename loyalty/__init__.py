"""Loyalty: an open-source loyalty and referral program platform.

The core is a double-entry points ledger (``loyalty.ledger``); everything
else (earning rules, tiers, rewards, storefront webhooks) posts to it.
"""

__version__ = "0.1.0"
__all__ = ["create_app", "__version__"]


def create_app(config=None):
    """Build the Flask application (see :func:`loyalty.app.create_app`)."""
    from loyalty.app import create_app as _create_app

    return _create_app(config)
