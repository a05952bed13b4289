"""installations: the bot's token per workspace (or Enterprise Grid organisation) from Slack's
OAuth flow and the organisation of each workspace

Many workspaces (issue 16, point 5). Empty in the single-token mode (SLACK_BOT_TOKEN).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 15:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.models


revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'slack_installation',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('enterprise_id', sa.String(length=32), nullable=False),
        sa.Column('workspace_id', sa.String(length=32), nullable=False),
        sa.Column('is_enterprise_install', sa.Boolean(), nullable=False),
        sa.Column('enterprise_name', sa.String(length=200), nullable=False),
        sa.Column('team_name', sa.String(length=200), nullable=False),
        sa.Column('app_id', sa.String(length=32), nullable=False),
        sa.Column('bot_token', sa.String(length=255), nullable=False),
        sa.Column('bot_id', sa.String(length=32), nullable=False),
        sa.Column('bot_user_id', sa.String(length=32), nullable=False),
        sa.Column('bot_scopes', sa.Text(), nullable=False),
        sa.Column('installer_user_id', sa.String(length=32), nullable=False),
        sa.Column('installed_at', bot.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_slack_installation')),
        sa.UniqueConstraint('enterprise_id', 'workspace_id', name=op.f('uq_slack_installation_enterprise_id_workspace_id')),
    )
    with op.batch_alter_table('slack_installation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_slack_installation_workspace_id'), ['workspace_id'], unique=False)
    op.create_table(
        'slack_enterprise_team',
        sa.Column('workspace_id', sa.String(length=32), nullable=False),
        sa.Column('enterprise_id', sa.String(length=32), nullable=False),
        sa.Column('seen_at', bot.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('workspace_id', name=op.f('pk_slack_enterprise_team')),
    )


def downgrade() -> None:
    op.drop_table('slack_enterprise_team')
    with op.batch_alter_table('slack_installation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_slack_installation_workspace_id'))
    op.drop_table('slack_installation')
