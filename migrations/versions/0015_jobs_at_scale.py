"""jobs at scale: partial indexes on the lots the release and expiry sweeps still have to read

Revision ID: 0015_jobs_at_scale
Revises: 0014_messages
Create Date: 2026-12-03 14:10:00.000000

Without them each batch of a sweep (1,000 lots) scanned the program's lots
from the first one, past every lot already emptied or not due: a sweep over
a million lots read the table a thousand times.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0015_jobs_at_scale"
down_revision = "0014_messages"
branch_labels = None
depends_on = None

RELEASING = "remaining > 0 AND release_at IS NOT NULL"
EXPIRING = "remaining > 0 AND expires_at IS NOT NULL"


def upgrade():
    with op.batch_alter_table("lots", schema=None) as batch_op:
        batch_op.create_index(
            "ix_lots_releasing",
            ["program_id", "id"],
            unique=False,
            postgresql_where=sa.text(RELEASING),
            sqlite_where=sa.text(RELEASING),
        )
        batch_op.create_index(
            "ix_lots_expiring",
            ["program_id", "id"],
            unique=False,
            postgresql_where=sa.text(EXPIRING),
            sqlite_where=sa.text(EXPIRING),
        )


def downgrade():
    with op.batch_alter_table("lots", schema=None) as batch_op:
        batch_op.drop_index("ix_lots_expiring")
        batch_op.drop_index("ix_lots_releasing")
