"""admin security: a session token per account (sessions that end), sign-in counts in the database

Revision ID: 0012_admin_security
Revises: 0011_custom_events
Create Date: 2026-12-02 13:45:00

"""

import secrets

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0012_admin_security"
down_revision = "0011_custom_events"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "rate_limits",
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_rate_limits")),
    )
    with op.batch_alter_table("rate_limits", schema=None) as batch_op:
        batch_op.create_index("ix_rate_limits_expires_at", ["expires_at"], unique=False)

    with op.batch_alter_table("admin_users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("session_token", sa.String(length=64), nullable=True))
    # Each existing account its own token (sessions from before the upgrade end: sign in again).
    users = sa.table("admin_users", sa.column("id", sa.BigInteger()), sa.column("session_token", sa.String()))
    connection = op.get_bind()
    for (user_id,) in connection.execute(sa.select(users.c.id)).all():
        connection.execute(users.update().where(users.c.id == user_id).values(session_token=secrets.token_urlsafe(32)))
    with op.batch_alter_table("admin_users", schema=None) as batch_op:
        batch_op.alter_column("session_token", existing_type=sa.String(length=64), nullable=False)


def downgrade():
    with op.batch_alter_table("admin_users", schema=None) as batch_op:
        batch_op.drop_column("session_token")

    with op.batch_alter_table("rate_limits", schema=None) as batch_op:
        batch_op.drop_index("ix_rate_limits_expires_at")

    op.drop_table("rate_limits")
