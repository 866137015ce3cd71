"""program time zone: the zone the admin shows times and takes dates in

Revision ID: 0016_program_timezone
Revises: 0015_jobs_at_scale
Create Date: 2026-12-04 14:40:00.000000

Storage stays UTC; the column only says how a program's people read and
type times (a campaign's dates, the ledger's). Existing programs get UTC,
which is what the admin showed them before.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0016_program_timezone"
down_revision = "0015_jobs_at_scale"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("programs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("timezone", sa.String(length=64), server_default="UTC", nullable=False))


def downgrade():
    with op.batch_alter_table("programs", schema=None) as batch_op:
        batch_op.drop_column("timezone")
