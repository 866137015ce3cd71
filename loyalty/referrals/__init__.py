"""Referrals: every member's code and link, attribution, fraud checks, two-sided rewards.

* :mod:`loyalty.referrals.terms`: the program's referral terms;
* :mod:`loyalty.referrals.checks`: the fraud-check contract and what checks see;
* :mod:`loyalty.referrals.service`: a referral's life, from attribution to reward.
"""

from loyalty.referrals.checks import ReferralCase, ReferralCheck, ReferralCheckSchema
from loyalty.referrals.service import (
    approve,
    attribute,
    get_referral,
    list_referrals,
    referred_by,
    reject,
    reward_due,
)
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
