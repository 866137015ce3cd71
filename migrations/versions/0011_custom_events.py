"""custom events: every custom event id recorded once, whether or not it earned

Revision ID: 0011_custom_events
Revises: 0010_delivery_key
Create Date: 2026-12-02 13:50:00

Events processed before this revision have no row: the pipeline still
treats an event id whose awards are in the ledger as a duplicate (and
records it then), so nothing processed before earns twice.
"""

import sqlalchemy as sa
from alembic import op

import loyalty.types

# revision identifiers, used by Alembic.
revision = "0011_custom_events"
down_revision = "0010_delivery_key"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "custom_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("program_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("event_id", sa.String(length=255), nullable=False),
        sa.Column("member_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("occurred_at", loyalty.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("received_at", loyalty.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("points", sa.BigInteger(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(
            ["program_id", "member_id"],
            ["members.program_id", "members.id"],
            name=op.f("fk_custom_events_program_id_member_id_members"),
        ),
        sa.ForeignKeyConstraint(["program_id"], ["programs.id"], name=op.f("fk_custom_events_program_id_programs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_custom_events")),
        sa.UniqueConstraint("program_id", "event_id", name=op.f("uq_custom_events_program_id_event_id")),
    )
    with op.batch_alter_table("custom_events", schema=None) as batch_op:
        batch_op.create_index("ix_custom_events_member_id", ["member_id", "occurred_at"], unique=False)


def downgrade():
    with op.batch_alter_table("custom_events", schema=None) as batch_op:
        batch_op.drop_index("ix_custom_events_member_id")

    op.drop_table("custom_events")
