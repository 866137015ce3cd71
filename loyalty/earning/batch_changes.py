"""Refunds and cancellations of a worker's batch, set-based (placeholder: every one is handed back, one by one)."""

from __future__ import annotations


def process_order_changes(pipeline, events) -> dict:
    """Hand every refund and cancellation back to be processed one by one (see :mod:`loyalty.earning.batch`)."""
    return {}
