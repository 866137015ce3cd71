"""What the dashboard's two indexes on ``members`` cost the writes that touch them, in one run.

``ix_members_program_tier`` and ``ix_members_program_enrolled`` (migration
0009) are written when a member enrols and when a member's tier changes,
never by a posting. This measures both, on the schema as it is and on the
same schema with the two indexes dropped (the baseline), twice each,
alternating, keeping the best of each:

* **enrol**: N members enrolled, one transaction each, as new customers'
  webhooks enrol them;
* **tiers**: a tier recalculation in which every one of the N members
  moves up a tier.

Usage::

    .venv/bin/python bench/member_indexes.py [--members 5000] [--database-url postgresql+psycopg://…/db]

The database given is emptied (its public schema dropped).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fresh import reset  # noqa: E402

INDEXES = ("ix_members_program_tier", "ix_members_program_enrolled")


def measure(url: str, members: int, with_indexes: bool) -> dict[str, float]:
    from flask_migrate import upgrade
    from sqlalchemy import select, text

    from loyalty.app import create_app
    from loyalty.db import db
    from loyalty.ledger import Ledger
    from loyalty.models import Member
    from loyalty.programs.members import enrol
    from loyalty.programs.program import create_program
    from loyalty.registry import current_registry
    from loyalty.tiers.levels import add_tier, set_scheme
    from loyalty.tiers.recalculate import recalculate

    reset(url)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade()
        if not with_indexes:
            for name in INDEXES:
                db.session.execute(text(f"DROP INDEX {name}"))
        program = create_program(db.session, slug="bench", name="Bench", currency="USD", clock=app.config["CLOCK"])
        add_tier(db.session, program, name="Bronze", rank=1, threshold="0", clock=app.config["CLOCK"])
        set_scheme(db.session, program, current_registry(), "points_earned", {"window_days": 365})
        db.session.commit()

        began = time.perf_counter()
        for n in range(members):
            enrol(db.session, program, external_id=f"m{n}", clock=app.config["CLOCK"])
            db.session.commit()
        enrolling = time.perf_counter() - began

        ledger = Ledger(db.session, app.config["CLOCK"])
        for member in db.session.scalars(select(Member)).all():  # points enough for Bronze, not yet recalculated
            ledger.earn(member, 100, key=f"seed-{member.id}")
        db.session.commit()
        began = time.perf_counter()
        result = recalculate(db.session, program, registry=current_registry(), clock=app.config["CLOCK"])
        db.session.commit()
        moving = time.perf_counter() - began
        assert result.upgraded == members, result
        db.session.remove()
    return {"enrol": enrolling, "tiers": moving}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--members", type=int, default=5000)
    parser.add_argument("--database-url", default=None, help="PostgreSQL to use (emptied); default a temporary SQLite")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/indexes.db"
        runs = [
            (with_indexes, measure(url, args.members, with_indexes)) for with_indexes in (False, True, False, True)
        ]  # twice each, alternating; the best of each
    baseline, current = (
        {name: min(r[name] for w, r in runs if w == flag) for name in ("enrol", "tiers")} for flag in (False, True)
    )
    label = "PostgreSQL" if args.database_url else "SQLite"
    print(f"| {label}, {args.members:,} members | without the indexes | with them | ratio |")
    print("|---|---:|---:|---:|")
    print(
        f"| enrol, per member | {baseline['enrol'] / args.members * 1000:.2f} ms"
        f" | {current['enrol'] / args.members * 1000:.2f} ms | {current['enrol'] / baseline['enrol']:.2f} |"
    )
    print(
        f"| tier recalculation, everyone moves | {baseline['tiers']:.2f} s | {current['tiers']:.2f} s"
        f" | {current['tiers'] / baseline['tiers']:.2f} |"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
