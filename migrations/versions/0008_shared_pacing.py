"""shared pacing: one pace per workspace and Slack method, shared through the database

One pacer per workspace (issue 16, point 4): every process that calls a Slack method for a
workspace (`cop serve`, a CLI drain, another replica) reserves its call slots in this row and
records Slack's Retry-After here, so none of them calls inside a wait another one was told of.

Revision ID: 0008
Revises: 0006
Create Date: 2026-12-01 15:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'send_pace',
        sa.Column('workspace_id', sa.String(length=32), nullable=False),
        sa.Column('method', sa.String(length=64), nullable=False),
        sa.Column('next_at', sa.Float(), nullable=False),
        sa.Column('paused_until', sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint('workspace_id', 'method', name=op.f('pk_send_pace')),
    )


def downgrade() -> None:
    op.drop_table('send_pace')
