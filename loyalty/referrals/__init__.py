"""Referrals: every member's code and link, attribution, fraud checks, two-sided rewards.

The life of a referral (statuses in :data:`loyalty.models.REFERRAL_STATUSES`):

* **attributed** when the store calls ``POST /api/v1/referrals`` (status
  ``pending``, waiting for the friend's order), or when a friend's paid
  order carries a member's code (a discount code, or a code the adapter
  found in the order's attributes, metadata or landing page);
* the fraud checks run (:mod:`loyalty.referrals.checks`): a reason that
  rejects ends it (``rejected``); one that flags waits for a person
  (``flagged``: :func:`approve` or :func:`reject`);
* the friend's **qualifying order** converts it (``converted``): the
  review period (the program's return window unless the terms say
  otherwise) starts at the order; the ``referral_converted`` hook fires;
* a refund or cancellation of that order inside the review period cancels
  it (``cancelled``); after the period the ``referrals`` job **rewards**
  it (``rewarded``): the referrer's and the friend's points are posted,
  keyed ``referral:<id>:referrer`` / ``:friend`` so they post once, and
  the referrer's points only while under the monthly cap; a catalog reward
  for the friend is given as a redemption for no points.

Locks: the friend's accounts first (the earning pipeline already holds
them when an order arrives), then the referral row, then the referrer's
accounts, so the pipeline and the job queue up rather than deadlock.

* :mod:`loyalty.referrals.terms`: the program's referral terms;
* :mod:`loyalty.referrals.checks`: the fraud-check contract and what checks see;
* :mod:`loyalty.referrals.context`: what the pipeline and the other callers hand a referral's life;
* :mod:`loyalty.referrals.attribution`: attribution, and the checks' decision;
* :mod:`loyalty.referrals.review`: conversion, the review period, rewards, decisions by hand;
* :mod:`loyalty.referrals.reading`: looking referrals up.
"""

from loyalty.referrals.attribution import attribute
from loyalty.referrals.checks import ReferralCase, ReferralCheck, ReferralCheckSchema
from loyalty.referrals.reading import get_referral, list_referrals, referred_by
from loyalty.referrals.review import approve, reject, reward_due
from loyalty.referrals.terms import Terms, TermsSchema, link_for, set_terms, stored_terms, terms_of

__all__ = [
    "ReferralCase",
    "ReferralCheck",
    "ReferralCheckSchema",
    "Terms",
    "TermsSchema",
    "approve",
    "attribute",
    "get_referral",
    "link_for",
    "list_referrals",
    "referred_by",
    "reject",
    "reward_due",
    "set_terms",
    "stored_terms",
    "terms_of",
]
