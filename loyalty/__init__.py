"""Loyalty: an open-source loyalty and referral program platform.

The core is a double-entry points ledger (``loyalty.ledger``); everything
else (earning rules, tiers, rewards, storefront webhooks) posts to it.
The application factory is :func:`loyalty.app.create_app`; plugin authors
import from :mod:`loyalty.plugin_api`. This module imports nothing else,
so importing any part of the package does not build the whole app.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
