"""The Alembic migrations produce exactly the models' schema."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from loyalty.app import create_app
from loyalty.db import db


def _differences(connection):
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return compare_metadata(context, db.metadata)


def test_migrated_schema_matches_the_models(app):
    """The suite's database was built by the migrations: it must equal the models."""
    with db.engine.connect() as connection:
        assert _differences(connection) == []


def test_migrations_downgrade_and_upgrade_again(tmp_path):
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/m.db", "TESTING": True})
    with app.app_context():
        upgrade()
        downgrade(revision="base")
        with db.engine.connect() as connection:
            assert set(db.inspect(connection).get_table_names()) <= {"alembic_version"}
        upgrade()
        with db.engine.connect() as connection:
            assert _differences(connection) == []
        db.engine.dispose()


def test_upgrading_a_database_that_has_data(tmp_path):
    """Each migration runs on a live database, not only an empty one (SQLite rebuilds tables)."""
    from loyalty.invariants import verify
    from loyalty.ledger import Ledger
    from loyalty.programs.members import enrol
    from loyalty.programs.program import create_program

    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/d.db", "TESTING": True})
    with app.app_context():
        upgrade(revision="0001_ledger")
        from sqlalchemy import text

        db.session.execute(
            text(
                "INSERT INTO programs (slug, name, currency, clawback_policy, created_at)"
                " VALUES ('p', 'P', 'USD', 'allow_negative', '2026-01-01 00:00:00')"
            )
        )
        # A member with its accounts: the children of the table 0002 rebuilds.
        db.session.execute(
            text(
                "INSERT INTO members (program_id, external_id, status, enrolled_at)"
                " VALUES (1, 'old', 'active', '2026-01-01 00:00:00')"
            )
        )
        db.session.execute(
            text(
                "INSERT INTO accounts (program_id, member_id, kind, balance, created_at)"
                " VALUES (1, 1, 'available', 0, '2026-01-01 00:00:00'), (1, 1, 'pending', 0, '2026-01-01 00:00:00')"
            )
        )
        db.session.commit()
        upgrade()
        assert db.session.execute(text("SELECT count(*) FROM accounts WHERE member_id = 1")).scalar() == 2
        code = db.session.execute(text("SELECT referral_code FROM members WHERE id = 1")).scalar()
        assert code and len(code) == 8  # 0006 gave the member enrolled before referrals a code
        program = create_program(db.session, slug="q", name="Q", currency="USD", clock=app.config["CLOCK"])
        member, _ = enrol(db.session, program, external_id="m", clock=app.config["CLOCK"])
        Ledger(db.session, app.config["CLOCK"]).earn(member, 10, key="k")
        db.session.commit()
        assert verify(db.session) == []
        db.engine.dispose()
