"""unlinkable ballots: no answer time, random answer ids, ballots keyed outside the database

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 20:30:00

- poll_delivery.answered_at goes: it said who answered, and when (sorted against the answers'
  ids, it linked respondents to their answers).
- poll_response.answered_on goes (a per-answer date), and its id becomes a random 63-bit number
  (BIGINT on PostgreSQL, no sequence): ids no longer follow the answering order. Existing
  answers get random ids here.
- Answer-time delivery rows of channel polls (they said who answered) are deleted; memberships
  of people known to be bots, deactivated or erased are closed (history kept).
- Ballots of polls still open are re-keyed to HMAC(ballot key, salt:person) (bot/polls.py), so
  members who answered before the upgrade can still change their answer and are not reminded.
  The ballot key comes from the environment the migration runs in (COP_BALLOT_KEY, or derived
  from SLACK_SIGNING_SECRET / SLACK_APP_TOKEN), as `cop db upgrade` and `cop serve` have it.
"""

import hashlib
import hmac
import os
import random
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import bot.models

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _rekey_open_polls(conn: sa.Connection) -> None:
    from bot.config import load_settings

    open_polls = conn.execute(
        sa.text(
            "SELECT id, ballot_salt FROM poll WHERE status = 'open' AND ballot_salt IS NOT NULL"
            " AND EXISTS (SELECT 1 FROM poll_response r WHERE r.poll_id = poll.id)"
        )
    ).all()
    if not open_polls:
        return
    key = load_settings(os.environ).ballot_key
    if key is None:
        raise RuntimeError(
            f"{len(open_polls)} open poll(s) hold answers whose ballots must be re-keyed: run "
            "this migration with COP_BALLOT_KEY or SLACK_SIGNING_SECRET set (`cop db upgrade` "
            "in the bot's environment)"
        )
    for poll_id, salt in open_polls:
        people = conn.execute(
            sa.text("SELECT person_id FROM poll_delivery WHERE poll_id = :p AND person_id IS NOT NULL"),
            {"p": poll_id},
        ).scalars()
        for person_id in people:
            old = hmac.new(salt.encode(), str(person_id).encode(), hashlib.sha256).hexdigest()
            new = hmac.new(key, f"{salt}:{person_id}".encode(), hashlib.sha256).hexdigest()
            conn.execute(
                sa.text("UPDATE poll_response SET ballot = :new WHERE poll_id = :p AND ballot = :old"),
                {"new": new, "p": poll_id, "old": old},
            )


def _random_ids(conn: sa.Connection) -> None:
    ids = list(conn.execute(sa.text("SELECT id FROM poll_response")).scalars())
    # rewritten in a random order, so that where PostgreSQL puts the new row versions says
    # nothing of the old order; new ids are drawn above every old one, so no update meets a row
    # not yet renumbered
    random.SystemRandom().shuffle(ids)
    for old in ids:
        conn.execute(
            sa.text("UPDATE poll_response SET id = :new WHERE id = :old"),
            {"new": secrets.randbelow(2**62 - 2**32) + 2**32, "old": old},
        )


def upgrade() -> None:
    conn = op.get_bind()
    _rekey_open_polls(conn)
    # A poll posted in a channel used to record, at answer time, who answered (a delivery row
    # with no delivery time): that is who answered, and its id the order. Gone.
    op.execute("DELETE FROM poll_delivery WHERE delivered_at IS NULL")
    # People Slack says are bots or deactivated hold no membership (bot/people.py IS_PERSON):
    # rows learned before that rule are closed now, history kept.
    membership = sa.table(
        "membership",
        sa.column("left_at", bot.models.UTCDateTime()),
        sa.column("person_id", sa.Integer()),
    )
    person = sa.table(
        "person",
        sa.column("id", sa.Integer()),
        sa.column("is_bot", sa.Boolean()),
        sa.column("deleted", sa.Boolean()),
        sa.column("erased_at", bot.models.UTCDateTime()),
    )
    not_people = sa.select(person.c.id).where(
        sa.or_(person.c.is_bot, person.c.deleted, person.c.erased_at.is_not(None))
    )
    conn.execute(
        membership.update()
        .where(membership.c.left_at.is_(None), membership.c.person_id.in_(not_people))
        .values(left_at=datetime.now(UTC))
    )
    with op.batch_alter_table("poll_delivery", schema=None) as batch_op:
        batch_op.drop_column("answered_at")
    with op.batch_alter_table("poll_response", schema=None) as batch_op:
        batch_op.drop_column("answered_on")
    if conn.dialect.name == "postgresql":
        op.execute("ALTER TABLE poll_response ALTER COLUMN id DROP DEFAULT")
        op.execute("DROP SEQUENCE IF EXISTS poll_response_id_seq")
        op.alter_column(
            "poll_response", "id", type_=sa.BigInteger(), existing_type=sa.Integer()
        )
    _random_ids(conn)


def downgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "postgresql":
        op.execute("CREATE SEQUENCE IF NOT EXISTS poll_response_id_seq OWNED BY poll_response.id")
        op.execute(
            "SELECT setval('poll_response_id_seq', COALESCE((SELECT MAX(id) FROM poll_response), 0) + 1, false)"
        )
        op.execute(
            "ALTER TABLE poll_response ALTER COLUMN id SET DEFAULT nextval('poll_response_id_seq')"
        )
        # random ids do not fit a 32-bit column: downgrading keeps BIGINT
    with op.batch_alter_table("poll_response", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("answered_on", sa.Date(), nullable=False, server_default=sa.func.current_date())
        )
    with op.batch_alter_table("poll_delivery", schema=None) as batch_op:
        batch_op.add_column(sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True))
