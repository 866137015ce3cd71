"""A member's ledger entries in their own words: "Order #1001", "Redeemed: 5 off", "Expired".

The ledger's reasons are written for staff ("Base rate: 1 points per USD
1 on 65.00 USD", "Welcome: referred by cust-ann", an adjustment's note)
and may name other customers, so shoppers never see them. Each entry is
described from what caused it instead (its source: an order, a rule, a
reward, a referral, a lot), with the program's texts (translatable, see
:mod:`loyalty.widget.texts`), looked up for a whole page in a few queries.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from loyalty.ledger.history import HistoryLine
from loyalty.models import EarningRule, Entry, Lot, Reward


def describe_lines(session: Session, lines: list[HistoryLine], texts: dict) -> list[dict]:
    """``{"id", "at", "kind", "title", "points", "pending"}`` per line, in the order given.

    Entries of one moment that read the same are one line, as shoppers
    think of them: an order's base points, its first-order bonus and its
    product bonus are "Order #1001 +215", not three lines (their sum; the
    id is the newest's). Only neighbours on the same page are joined.
    """
    names = _names(session, lines)
    described: list[dict] = []
    for line in lines:
        kind, title = _words(line, names, texts)
        last = described[-1] if described else None
        if last is not None and (last["kind"], last["title"], last["at"]) == (kind, title, line.created_at):
            last["points"] += line.available
            last["pending"] += line.pending
            continue
        described.append(
            {
                "id": line.entry_id,
                "at": line.created_at,
                "kind": kind,
                "title": title,
                "points": line.available,
                "pending": line.pending,
            }
        )
    return described


def _words(line: HistoryLine, names: dict, texts: dict) -> tuple[str, str]:
    source = (line.source_type, line.source_id)
    if line.kind == "earn":
        kind = "pending" if line.pending > 0 and line.available == 0 else "earned"
        if line.source_type == "order":
            return kind, texts["activity_order"].format(order=line.source_id)
        if line.source_type == "referral":
            return kind, texts["activity_referral"]
        if line.source_type == "rule" and source in names:
            return kind, names[source]
        return kind, texts["activity_bonus"]
    if line.kind == "release":
        order = names.get(source)
        return "released", texts["activity_released"].format(order=order) if order else texts["activity_available"]
    if line.kind == "redeem":
        return "redeemed", texts["activity_redeemed"].format(reward=names.get(source, texts["activity_a_reward"]))
    if line.kind == "expire":
        return "expired", texts["activity_expired"]
    if line.kind == "reverse":
        original = names.get(("entry", line.reverses_id))
        if original is not None and original[0] == "order":
            return "refunded", texts["activity_refund"].format(order=original[1])
        if original is not None and original[0] == "reward":
            reward = names.get(("reward", original[1]), texts["activity_a_reward"])
            return "returned", texts["activity_reward_returned"].format(reward=reward)
        return "corrected", texts["activity_reversed"]
    return "adjusted", texts["activity_adjusted"]


def _names(session: Session, lines: list[HistoryLine]) -> dict:
    """What the page's entries point at, by ``(source_type, source_id)``: rule and reward names, a lot's order,
    and ``("entry", id)`` the source of each reversed entry."""
    wanted: dict[str, set] = {"rule": set(), "reward": set(), "lot": set(), "entry": set()}
    for line in lines:
        if line.source_type in ("rule", "reward", "lot") and line.source_id and line.source_id.isdigit():
            wanted[line.source_type].add(int(line.source_id))
        if line.reverses_id is not None:
            wanted["entry"].add(line.reverses_id)
    names: dict = {}
    if wanted["entry"]:
        rows = session.execute(
            select(Entry.id, Entry.source_type, Entry.source_id).where(Entry.id.in_(wanted["entry"]))
        ).all()
        for entry_id, source_type, source_id in rows:
            names[("entry", entry_id)] = (source_type, source_id)
            if source_type == "reward" and source_id and source_id.isdigit():
                wanted["reward"].add(int(source_id))
    if wanted["rule"]:
        for rule_id, name in session.execute(
            select(EarningRule.id, EarningRule.name).where(EarningRule.id.in_(wanted["rule"]))
        ):
            names[("rule", str(rule_id))] = name
    if wanted["reward"]:
        for reward_id, name in session.execute(select(Reward.id, Reward.name).where(Reward.id.in_(wanted["reward"]))):
            names[("reward", str(reward_id))] = name
    if wanted["lot"]:
        rows = session.execute(
            select(Lot.id, Entry.source_id)
            .join(Entry, Entry.id == Lot.entry_id)
            .where(Lot.id.in_(wanted["lot"]), Entry.source_type == "order")
        ).all()
        for lot_id, order in rows:
            names[("lot", str(lot_id))] = order
    return names
