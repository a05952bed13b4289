"""Microsoft Teams: longer identifiers, the person's e-mail, where the bot may write proactively

Teams' identifiers are longer than Slack's (a tenant is a GUID, a person "29:…", a 1:1 chat
"a:…" of over a hundred characters): workspace ids widen to 64 characters, the platform's ids of
people, channels and messages to 255 (bot.models.WORKSPACE_ID, PLATFORM_ID). A person's e-mail,
when the platform gives it, counts one person in both platforms once (issue 17, point 7).
`teams_conversation` keeps each conversation the bot may write to unprompted, with its service
URL (bot/teams/).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 18:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.models


revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# table: [(column, old length, new length, nullable)]
WIDER: dict[str, list[tuple[str, int, int, bool]]] = {
    'activity_daily': [('workspace_id', 32, 64, False)],
    'audit_log': [('workspace_id', 32, 64, False), ('actor', 64, 255, False)],
    'backfill_state': [('workspace_id', 32, 64, False)],
    'charter_objective': [('workspace_id', 32, 64, False)],
    'charter_version': [('workspace_id', 32, 64, False)],
    'community': [('workspace_id', 32, 64, False), ('channel_id', 32, 255, False)],
    'community_proposal': [('workspace_id', 32, 64, False)],
    'compass_assessment': [('workspace_id', 32, 64, False)],
    'compass_response': [('workspace_id', 32, 64, False)],
    'event': [('workspace_id', 32, 64, False), ('channel_id', 32, 255, True), ('message_ts', 32, 255, True)],
    'event_attendance': [('workspace_id', 32, 64, False)],
    'event_feedback': [('workspace_id', 32, 64, False)],
    'event_rsvp': [('workspace_id', 32, 64, False)],
    'event_series': [('workspace_id', 32, 64, False), ('channel_id', 32, 255, True), ('message_ts', 32, 255, True)],
    'kpi_snapshot': [('workspace_id', 32, 64, False)],
    'membership': [('workspace_id', 32, 64, False)],
    'outbox': [('workspace_id', 32, 64, False), ('channel_id', 32, 255, True), ('message_channel', 32, 255, True), ('message_ts', 32, 255, True)],
    'person': [('workspace_id', 32, 64, False), ('slack_user_id', 32, 255, False), ('dm_channel_id', 32, 255, True)],
    'poll': [('workspace_id', 32, 64, False), ('results_posted_ts', 32, 255, True)],
    'poll_delivery': [('workspace_id', 32, 64, False)],
    'poll_response': [('workspace_id', 32, 64, False)],
    'processed_event': [('event_id', 64, 255, False), ('workspace_id', 32, 64, False)],
    'ritual_preference': [('workspace_id', 32, 64, False)],
    'ritual_run': [('workspace_id', 32, 64, False)],
    'ritual_setting': [('workspace_id', 32, 64, False), ('target_channel_id', 32, 255, True)],
    'send_pace': [('workspace_id', 32, 64, False)],
    'stage_change': [('workspace_id', 32, 64, False)],
    'success_story': [('workspace_id', 32, 64, False), ('posted_ts', 32, 255, True)],
    'survey_campaign': [('workspace_id', 32, 64, False)],
    'workspace': [('id', 32, 64, False)],
}


def _resize(table: str, columns: list[tuple[str, int, int, bool]], *, up: bool) -> None:
    with op.batch_alter_table(table) as batch:
        for column, old, new, nullable in columns:
            batch.alter_column(
                column,
                existing_type=sa.String(old if up else new),
                type_=sa.String(new if up else old),
                existing_nullable=nullable,
            )


def upgrade() -> None:
    for table, columns in WIDER.items():
        _resize(table, columns, up=True)
    with op.batch_alter_table('person') as batch:
        batch.add_column(sa.Column('email', sa.String(length=320), nullable=True))
        batch.create_index(batch.f('ix_person_email'), ['email'], unique=False)
    op.create_table(
        'teams_conversation',
        sa.Column('workspace_id', sa.String(length=64), nullable=False),
        sa.Column('conversation_id', sa.String(length=255), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('service_url', sa.String(length=500), nullable=False),
        sa.Column('user_id', sa.String(length=255), nullable=True),
        sa.Column('team_id', sa.String(length=255), nullable=True),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('updated_at', bot.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['workspace_id'], ['workspace.id'],
            name=op.f('fk_teams_conversation_workspace_id_workspace'),
        ),
        sa.PrimaryKeyConstraint(
            'workspace_id', 'conversation_id', name=op.f('pk_teams_conversation')
        ),
    )
    op.create_index(
        op.f('ix_teams_conversation_user_id'), 'teams_conversation', ['user_id'], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f('ix_teams_conversation_user_id'), table_name='teams_conversation')
    op.drop_table('teams_conversation')
    with op.batch_alter_table('person') as batch:
        batch.drop_index(batch.f('ix_person_email'))
        batch.drop_column('email')
    for table, columns in reversed(list(WIDER.items())):
        _resize(table, columns, up=False)
