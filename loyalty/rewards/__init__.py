"""The reward catalog and redemptions.

* :mod:`loyalty.rewards.types`: the reward-type contract plugins implement;
* :mod:`loyalty.rewards.catalog`: rewards, prices, availability, code pools;
* :mod:`loyalty.rewards.redeem`: spending points on a reward as one step, cancelling, codes used by orders.
"""

from loyalty.rewards.catalog import (
    Unavailable,
    add_reward,
    availability,
    get_reward,
    import_codes,
    list_rewards,
    price,
    reasons_unavailable,
    unavailable,
    update_reward,
)
from loyalty.rewards.redeem import cancel, find_code, give, mark_used, redeem, redemptions_of
from loyalty.rewards.types import Issued, RedemptionRequest, RewardConfigSchema, RewardNotIssued, RewardType

__all__ = [
    "Unavailable",
    "availability",
    "Issued",
    "RedemptionRequest",
    "RewardConfigSchema",
    "RewardNotIssued",
    "RewardType",
    "add_reward",
    "cancel",
    "find_code",
    "get_reward",
    "give",
    "import_codes",
    "list_rewards",
    "mark_used",
    "price",
    "reasons_unavailable",
    "redeem",
    "redemptions_of",
    "unavailable",
    "update_reward",
]
