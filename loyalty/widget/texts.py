"""What the widget says and looks like unless a program says otherwise.

Every text a shopper reads is here, in English, under a stable key; a
program stores only the texts it replaced (a translation, a friendlier
wording), so a text added later reaches every program in English until it
is translated. ``{braces}`` are filled in by the widget (or, for activity
titles, by the member API): a replacement must keep the placeholders it
needs, and :func:`check_texts` refuses one that names a placeholder the
default does not have.
"""

from __future__ import annotations

import re
import string

DEFAULT_APPEARANCE = {
    "accent": "#4f46e5",
    "accent_text": "#ffffff",
    "position": "bottom-right",
    "label": "Rewards",
}

POSITIONS = ("bottom-right", "bottom-left")

DEFAULT_TEXTS = {
    # The panel
    "panel_title": "{program} rewards",
    "close": "Close",
    "loading": "Loading…",
    "error": "Something went wrong. Please try again.",
    "retry": "Try again",
    "signed_out": "You are signed out of your rewards: sign in again to see your points.",
    # Guests
    "guest_heading": "Join {program} rewards",
    "guest_body": "Earn points on every order and turn them into rewards.",
    "sign_in": "Sign in",
    "sign_up": "Create an account",
    "join_by_order": "Place your first order to join and start earning points.",
    # Balance and tiers
    "balance_label": "Your points",
    "points": "{points} points",
    "one_point": "1 point",
    "pending": "{points} pending",
    "tier_current": "Your tier: {tier}",
    "tier_next": "Earn {remaining} more to reach {tier}",
    "tier_next_by": "Earn {remaining} more by {date} to reach {tier}",
    "tier_keep": "Reach {threshold} by {date} to keep {tier}",
    "tier_top": "You have reached the top tier",
    "tiers_heading": "VIP tiers",
    "expiring": "{points} expire on {date}",
    # Earning
    "earn_heading": "Ways to earn",
    # Rewards
    "rewards_heading": "Rewards",
    "redeem": "Redeem",
    "redeem_for": "Redeem for {points}",
    "points_to_spend": "Points to spend",
    "redeem_confirm": "Spend {points} on {reward}?",
    "confirm": "Yes, redeem",
    "cancel": "Cancel",
    "your_code": "Your code",
    "copy": "Copy",
    "copied": "Copied",
    "copy_failed": "Select the text and copy it yourself",
    "redeemed": "{reward} is yours",
    "my_rewards_heading": "Your rewards",
    "no_rewards": "No rewards yet",
    "not_enough_points": "{points} more needed",
    "for_tier": "For {tier} members",
    "out_of_stock": "Out of stock",
    "limit_reached": "Limit reached",
    "not_available": "Not available now",
    # Referrals
    "referral_heading": "Refer a friend",
    "referral_body": "Give a friend {friend_points} and get {referrer_points} when they order.",
    "share": "Share",
    "share_text": "Join me at {program}",
    # E-mail
    "emails": "E-mails about my points and rewards",
    # Activity (titles are written by the member API, in these words)
    "activity_heading": "Recent activity",
    "no_activity": "Nothing yet",
    "show_more": "Show more",
    "activity_order": "Order #{order}",
    "activity_released": "Points from order #{order} available",
    "activity_available": "Points now available",
    "activity_refund": "Refund of order #{order}",
    "activity_redeemed": "Redeemed: {reward}",
    "activity_reward_returned": "Returned: {reward}",
    "activity_a_reward": "a reward",
    "activity_referral": "Referral bonus",
    "activity_bonus": "Bonus points",
    "activity_expired": "Expired",
    "activity_adjusted": "Adjustment",
    "activity_reversed": "Correction",
}

MAX_TEXT = 300
_COLOUR = re.compile(r"#[0-9a-fA-F]{6}\Z")


def placeholders(text: str) -> set[str]:
    """The ``{names}`` a text fills in (``string.Formatter`` parses them as ``str.format`` would).

    A placeholder with a format spec or a conversion (``{points:>999999}``,
    ``{points!r}``) is returned whole, so it never matches a default's name
    and is refused: texts are filled in by ``str.format``, and a spec can
    ask it for gigabytes of padding.
    """
    return {
        name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "")
        for _, name, spec, conversion in string.Formatter().parse(text)
        if name is not None
    }


def check_texts(texts) -> tuple[dict, dict]:
    """The overrides that are valid, and a message per key that is not."""
    accepted, problems = {}, {}
    if not isinstance(texts, dict):
        return {}, {"texts": "must be an object of text keys and texts"}
    for key, value in texts.items():
        if key not in DEFAULT_TEXTS:
            problems[str(key)[:50]] = "no such text"
            continue
        if not isinstance(value, str) or not value.strip() or len(value) > MAX_TEXT or "\x00" in value:
            problems[key] = f"must be 1 to {MAX_TEXT} characters of text"
            continue
        try:
            names = placeholders(value)
        except ValueError:
            problems[key] = "has an unmatched { or }: write {{ and }} for braces"
            continue
        unknown = names - placeholders(DEFAULT_TEXTS[key])
        if unknown:
            allowed = ", ".join(f"{{{n}}}" for n in sorted(placeholders(DEFAULT_TEXTS[key]))) or "none"
            problems[key] = f"{{{sorted(unknown)[0]}}} is not filled in here (placeholders: {allowed})"
            continue
        if value != DEFAULT_TEXTS[key]:
            accepted[key] = value
    return accepted, problems


def check_appearance(appearance) -> tuple[dict, dict]:
    """The appearance settings that are valid, and a message per key that is not."""
    accepted, problems = {}, {}
    if not isinstance(appearance, dict):
        return {}, {"appearance": "must be an object"}
    for key, value in appearance.items():
        if key in ("accent", "accent_text"):
            if not isinstance(value, str) or not _COLOUR.match(value):
                problems[key] = "must be a colour written #rrggbb"
                continue
            value = value.lower()
        elif key == "position":
            if value not in POSITIONS:
                problems[key] = f"must be one of {', '.join(POSITIONS)}"
                continue
        elif key == "label":
            if not isinstance(value, str) or not value.strip() or len(value) > 40 or "\x00" in value:
                problems[key] = "must be 1 to 40 characters"
                continue
            value = value.strip()
        else:
            problems[str(key)[:50]] = "no such setting"
            continue
        if value != DEFAULT_APPEARANCE[key]:
            accepted[key] = value
    return accepted, problems


def texts_with_defaults(overrides: dict | None) -> dict:
    return {**DEFAULT_TEXTS, **{k: v for k, v in (overrides or {}).items() if k in DEFAULT_TEXTS}}


def appearance_with_defaults(overrides: dict | None) -> dict:
    return {**DEFAULT_APPEARANCE, **{k: v for k, v in (overrides or {}).items() if k in DEFAULT_APPEARANCE}}
