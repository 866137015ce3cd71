"""``program``: what the program offers, for guests and members alike (no token): the widget draws its panel from it."""

from __future__ import annotations

from flask import g

from loyalty.api.member.catalog import shopper_reward
from loyalty.api.member.resources import member_resource
from loyalty.api.member.schemas import ProgramSchema
from loyalty.clock import current_clock
from loyalty.db import db
from loyalty.earning.ways_to_earn import ways_to_earn
from loyalty.models import Reward
from loyalty.referrals import terms_of
from loyalty.registry import current_registry
from loyalty.rewards import list_rewards
from loyalty.tiers.levels import list_tiers
from loyalty.tiers.progress import plain
from loyalty.tiers.schemes import scheme_of
from loyalty.widget.settings import public_config

blp = member_resource("program", __name__, "The program: ways to earn, tiers, referral terms, rewards.", public=True)


@blp.route("/<program>/program", methods=["GET"])
@blp.doc(operationId="getProgram", security=[])
@blp.response(200, ProgramSchema)
def program_info(program):
    """The program's name and currency, ways to earn in words, tiers and perks, referral terms, the catalog, and
    how the store set the widget up (looks, texts, sign-in links)."""
    program, registry = g.program, current_registry()
    tiers = list_tiers(db.session, program)
    terms = terms_of(program)
    friend_reward = db.session.get(Reward, terms.friend_reward) if terms and terms.friend_reward else None
    answer = {
        "program": {"slug": program.slug, "name": program.name, "currency": program.currency},
        "ways_to_earn": [
            {key: way[key] for key in ("rule_id", "name", "event", "description")}
            for way in ways_to_earn(db.session, program, registry=registry, clock=current_clock())
        ],
        "tier_metric": scheme_of(registry, program.tier_scheme).metric if program.tier_scheme else None,
        "tiers": [
            {
                "name": tier.name,
                "rank": tier.rank,
                "threshold": plain(tier.threshold),
                "perks": tier.perks,
                "earn_multiplier": plain(tier.earn_multiplier),
            }
            for tier in tiers
        ],
        "referrals": None
        if terms is None
        else {
            "referrer_points": terms.referrer_points,
            "friend_points": terms.friend_points,
            "friend_reward": friend_reward.name if friend_reward else None,
            "min_order": plain(terms.min_order),
        },
        "rewards": [shopper_reward(reward) for reward in list_rewards(db.session, program, active_only=True)],
        "widget": public_config(g.widget),
    }
    db.session.commit()
    return answer
