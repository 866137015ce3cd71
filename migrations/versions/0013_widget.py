"""widget: the storefront widget's settings and secret per program

Revision ID: 0013_widget
Revises: 0012_admin_security
Create Date: 2026-12-03 07:40:00

"""

import sqlalchemy as sa
from alembic import op

import loyalty.types

# revision identifiers, used by Alembic.
revision = "0013_widget"
down_revision = "0012_admin_security"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "widget_settings",
        sa.Column("program_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("secret", sa.String(length=64), nullable=False),
        sa.Column("origins", sa.JSON(), nullable=False),
        sa.Column("appearance", sa.JSON(), nullable=False),
        sa.Column("texts", sa.JSON(), nullable=False),
        sa.Column("sign_in_url", sa.String(length=2000), nullable=True),
        sa.Column("sign_up_url", sa.String(length=2000), nullable=True),
        sa.Column("joins", sa.String(length=16), server_default="widget", nullable=False),
        sa.Column("secret_created_at", loyalty.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", loyalty.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("joins IN ('widget', 'order')", name=op.f("ck_widget_settings_joins")),
        sa.ForeignKeyConstraint(["program_id"], ["programs.id"], name=op.f("fk_widget_settings_program_id_programs")),
        sa.PrimaryKeyConstraint("program_id", name=op.f("pk_widget_settings")),
    )


def downgrade():
    op.drop_table("widget_settings")
