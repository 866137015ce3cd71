"""Tests for the example referral check, written with the kit the platform ships (loyalty.testing)."""

import loyalty_blocked_domains
import pytest


@pytest.fixture
def loyalty_plugins():
    # Installed with pip the plugin is found through its entry point; naming
    # it here as well makes these tests work from a plain checkout too.
    return [loyalty_blocked_domains]


@pytest.fixture
def terms(loyalty_referral_terms):
    return loyalty_referral_terms(referrer_points=500, friend_points=100)


def test_a_throwaway_address_is_flagged(terms, loyalty_refer, loyalty_member):
    referral = loyalty_refer(loyalty_member, "f-1", friend_email="Someone@Mailinator.com")
    assert referral.status == "flagged"
    assert referral.reason == "the friend's e-mail address is at mailinator.com (blocked_domains)"


def test_other_addresses_pass(terms, loyalty_refer, loyalty_member):
    assert loyalty_refer(loyalty_member, "f-2", friend_email="friend@example.org").status == "pending"
    assert loyalty_refer(loyalty_member, "f-3").status == "pending"  # no address: nothing to say


def test_the_program_chooses_the_domains_and_the_action(terms, loyalty_referral_terms, loyalty_refer, loyalty_member):
    loyalty_referral_terms(checks={"blocked_domains": {"domains": ["example.org"], "action": "reject"}})
    assert loyalty_refer(loyalty_member, "f-4", friend_email="friend@example.org").status == "rejected"
    assert loyalty_refer(loyalty_member, "f-5", friend_email="x@mailinator.com").status == "pending"
