"""webhooks: dedupe deliveries on a SHA-256 of their whole id; keep the id whole; a note per delivery

Revision ID: 0010_delivery_key
Revises: 0009_rollups
Create Date: 2026-12-02 13:50:00

Before this, delivery ids were cut to 255 characters and deduped on the
cut, so two deliveries whose ids shared their first 255 characters were
one. Existing rows get the hash of the id they have (already cut: those
could not be told apart anyway).
"""

import hashlib

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0010_delivery_key"
down_revision = "0009_rollups"
branch_labels = None
depends_on = None

deliveries = sa.table(
    "webhook_deliveries",
    sa.column("id", sa.BigInteger),
    sa.column("delivery_id", sa.Text),
    sa.column("delivery_key", sa.String(64)),
)


def upgrade():
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("delivery_key", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("note", sa.Text(), nullable=True))
    bind = op.get_bind()
    rows = bind.execute(sa.select(deliveries.c.id, deliveries.c.delivery_id)).all()
    for start in range(0, len(rows), 1000):
        bind.execute(
            deliveries.update()
            .where(deliveries.c.id == sa.bindparam("row_id"))
            .values(delivery_key=sa.bindparam("key")),
            [
                {"row_id": row.id, "key": hashlib.sha256(row.delivery_id.encode()).hexdigest()}
                for row in rows[start : start + 1000]
            ],
        )
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.alter_column("delivery_key", existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column(
            "delivery_id", existing_type=sa.String(length=255), type_=sa.Text(), existing_nullable=False
        )
        batch_op.drop_constraint("uq_webhook_deliveries_program_id_storefront_id_delivery_id", type_="unique")
        batch_op.create_unique_constraint(
            batch_op.f("uq_webhook_deliveries_program_id_storefront_id_delivery_key"),
            ["program_id", "storefront_id", "delivery_key"],
        )


def downgrade():
    # Ids longer than 255 characters are cut again (as they were before this revision).
    bind = op.get_bind()
    bind.execute(deliveries.update().values(delivery_id=sa.func.substr(deliveries.c.delivery_id, 1, 255)))
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.drop_constraint("uq_webhook_deliveries_program_id_storefront_id_delivery_key", type_="unique")
        batch_op.alter_column(
            "delivery_id", existing_type=sa.Text(), type_=sa.String(length=255), existing_nullable=False
        )
        batch_op.create_unique_constraint(
            "uq_webhook_deliveries_program_id_storefront_id_delivery_id", ["program_id", "storefront_id", "delivery_id"]
        )
        batch_op.drop_column("note")
        batch_op.drop_column("delivery_key")
