"""The pulse poll screens: the DM with answer buttons, the comment modal, the results."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    HeaderBlock,
    InputBlock,
    PlainTextInputElement,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot.errors import NotFound
from bot.i18n import Translator
from bot.numbers import whole
from bot.polls import Results
from bot.slack.echo import Mrkdwn, echo, md, mrkdwn
from bot.slack.text import row_id, typed

ANSWER = "pulse_answer"  # action_id prefix: pulse_answer:<question>:<score>
COMMENT = "pulse_comment"  # opens the comment modal
COMMENT_VIEW = "pulse_comment_view"
COMMENT_BLOCK = "comment"
COMMENT_INPUT = "comment_input"


def answer_value(poll_id: int, key: str, score: int) -> str:
    return f"{poll_id}|{key}|{score}"


def parse_answer(value: str) -> tuple[int, str, int]:
    """(poll id, question, score); NotFound when the value is not one the poll's buttons carry."""
    parts = str(value).split("|")
    score = whole(parts[2], max_digits=3, signed=True) if len(parts) == 3 else None
    if score is None:
        raise NotFound("polls.not_found")
    return row_id(parts[0]), parts[1], score


def parse_question(value: str) -> tuple[int, str]:
    """(poll id, question) from the comment button's value or the comment modal's metadata."""
    parts = str(value).split("|")
    if len(parts) != 2:
        raise NotFound("polls.not_found")
    return row_id(parts[0]), parts[1]


def build_poll(
    t: Translator,
    *,
    poll_id: int,
    community: str,
    questions: list[dict[str, Any]],
    closes_at: datetime,
    tz: str | None,
    language: str,
    reminder: bool = False,
) -> tuple[Mrkdwn, list[dict[str, Any]]]:
    """The poll as a member receives it (DM or channel), in their language."""
    title = t("polls.reminder_title" if reminder else "polls.title", community=community)
    blocks: list[Block] = [
        HeaderBlock(text=title[:150]),
        SectionBlock(
            text=mrkdwn(
                t(
                    "polls.intro",
                    community=community,
                    closes=t.datetime(closes_at, tz, with_zone=True),
                )
            )
        ),
    ]
    for q in questions:
        text = q["text"].get(language) or next(iter(q["text"].values()))
        if q["kind"] == "text":
            blocks.append(
                SectionBlock(
                    text=mrkdwn(md("*{question}*", question=text)),
                    accessory=ButtonElement(
                        text=t("polls.comment_button"),
                        action_id=COMMENT,
                        value=f"{poll_id}|{q['key']}",
                    ),
                )
            )
            continue
        blocks.append(SectionBlock(text=mrkdwn(md("*{question}*", question=text))))
        blocks.append(
            ActionsBlock(
                block_id=f"q_{q['key']}",
                elements=[
                    ButtonElement(
                        text=str(score),
                        action_id=f"{ANSWER}:{q['key']}:{score}",
                        value=answer_value(poll_id, q["key"], score),
                    )
                    for score in range(q["min"], q["max"] + 1)
                ],
            )
        )
    blocks.append(ContextBlock(elements=[mrkdwn(t("polls.anonymous_note"))]))
    return echo(title), [b.to_dict() for b in blocks]


def build_comment_modal(t: Translator, *, poll_id: int, key: str) -> View:
    return View(
        type="modal",
        callback_id=COMMENT_VIEW,
        private_metadata=f"{poll_id}|{key}",
        title=t("polls.comment_title"),
        submit=t("polls.send"),
        close=t("polls.cancel"),
        blocks=[
            InputBlock(
                block_id=COMMENT_BLOCK,
                label=t("polls.comment_label"),
                element=PlainTextInputElement(
                    action_id=COMMENT_INPUT, multiline=True, max_length=2000
                ),
            )
        ],
    )


def parse_comment(view: dict[str, Any]) -> tuple[int, str, str]:
    poll_id, key = parse_question(view.get("private_metadata") or "")
    values = (view.get("state") or {}).get("values") or {}
    value = typed(((values.get(COMMENT_BLOCK) or {}).get(COMMENT_INPUT) or {}).get("value"))
    return poll_id, key, value


def _bar(count: int, total: int, width: int = 10) -> str:
    filled = round(width * count / total) if total else 0
    return "█" * filled + "░" * (width - filled)


def build_results(
    t: Translator, *, community: str, results: Results, language: str, min_answers: int
) -> tuple[Mrkdwn, list[dict[str, Any]]]:
    """What the leaders receive at close: the response rate, then each question's results only
    where the disclosure rule shows them (bot/disclosure.py), else why not."""
    title = t("polls.results_title", community=community, period=results.period_key)
    summary = t(
        "polls.results_rate",
        respondents=t.number(results.respondents),
        asked=t.number(results.asked),
        rate=t.percent(results.response_rate),
    )
    blocks: list[Block] = [
        HeaderBlock(text=title[:150]),
        SectionBlock(text=mrkdwn(summary)),
    ]
    for q in results.questions:
        text = q.text.get(language) or next(iter(q.text.values()))
        figure = q.figure
        if not figure.shown:
            withheld = (
                t(
                    "polls.question_too_few",
                    answers=t.number(figure.answers),
                    min=t.number(min_answers),
                )
                if figure.answers
                else t("polls.no_answer")
            )
            blocks.append(
                SectionBlock(text=mrkdwn(md("*{q}*\n{withheld}", q=text, withheld=withheld)))
            )
            continue
        if q.kind == "text":
            comments = Mrkdwn("\n").join(md("> {c}", c=c[:300]) for c in q.comments[:10])
            blocks.append(
                SectionBlock(
                    text=mrkdwn(
                        md("*{q}*\n{comments}", q=text, comments=comments or t("polls.no_comment"))
                    )
                )
            )
            continue
        lines = [f"*{text}*"]
        if figure.mean is not None:
            lines.append(
                t(
                    "polls.results_mean",
                    mean=t.number(figure.mean, 2),
                    answers=t.number(figure.answers),
                )
            )
        if figure.enps is not None:
            lines.append(
                t(
                    "polls.results_enps",
                    enps=t.whole(figure.enps),
                    answers=t.number(figure.answers),
                )
            )
        total = sum(figure.distribution.values())
        for score, count in figure.distribution.items():
            lines.append(f"`{score:>2}` {_bar(count, total)} {t.number(count)}")
        blocks.append(SectionBlock(text=mrkdwn("\n".join(lines))))
    return echo(title), [b.to_dict() for b in blocks]


def build_summary(
    t: Translator, *, community: str, results: Results
) -> tuple[Mrkdwn, list[dict[str, Any]]]:
    """The short summary for the channel (only when the leaders allow it), with only the
    questions the disclosure rule shows."""
    parts = [t("polls.summary", community=community, respondents=t.number(results.respondents))]
    for q in results.questions:
        figure = q.figure
        if not figure.shown:
            continue
        if q.kind == "scale" and figure.mean is not None:
            parts.append(t("polls.summary_mean", mean=t.number(figure.mean, 1), max=t.number(5)))
        if figure.enps is not None:
            parts.append(
                t(
                    "polls.summary_enps",
                    enps=t.whole(figure.enps),
                    answers=t.number(figure.answers),
                )
            )
    text = " ".join(parts)
    return echo(text), [SectionBlock(text=mrkdwn(text)).to_dict()]
