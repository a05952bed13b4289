"""Success-story screens: the modal (with its state parser) and the leaders' review list (the
prompt and the channel post are messages: rituals/stories.py, bot/stories.py)."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    CheckboxesElement,
    ContextBlock,
    HeaderBlock,
    InputBlock,
    Option,
    PlainTextInputElement,
    SectionBlock,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from bot.i18n import Translator
from bot.models import StoryKind, SuccessStory, ValueKind
from bot.numbers import row_id
from bot.slack.blocks.common import input_values
from bot.slack.echo import Mrkdwn, cut, echo, md, mention, mrkdwn, say
from bot.slack.text import typed
from bot.stories import NAME_MAX, SENTENCE_MAX, UNITS, StoryInput, TestimonialInput

VIEW = "story_submit"
VALIDATE = "story_validate"
REJECT = "story_reject"
POST = "story_post"
TESTIMONIAL_VIEW = "testimonial_submit"
PICK = "story_pick"  # f"{PICK}:{story|testimonial}:{community id}": the picker's buttons


def build_modal(t: Translator, *, community_id: int, community: str) -> View:
    def text_input(
        name: str, *, multiline: bool = True, optional: bool = False, max_length: int = 2000
    ) -> InputBlock:
        return InputBlock(
            block_id=name,
            label=t(f"stories.field.{name}"),
            optional=optional,
            element=PlainTextInputElement(
                action_id=name, multiline=multiline, max_length=max_length
            ),
        )

    return View(
        type="modal",
        callback_id=VIEW,
        private_metadata=str(community_id),
        title=t("stories.modal_title"),
        submit=t("stories.submit"),
        close=t("stories.cancel"),
        blocks=[
            SectionBlock(text=mrkdwn(t("stories.modal_intro", community=community))),
            text_input("title", multiline=False, max_length=150),
            text_input("context"),
            text_input("contribution"),
            text_input("benefit"),
            text_input("value_amount", multiline=False, optional=True, max_length=20),
            InputBlock(
                block_id="value_unit",
                label=t("stories.field.value_unit"),
                optional=True,
                element=StaticSelectElement(
                    action_id="value_unit",
                    placeholder=t("stories.pick"),
                    options=[Option(text=t(f"stories.unit.{u}"), value=u) for u in UNITS],
                ),
            ),
            text_input("people_involved", optional=True),
            InputBlock(
                block_id="value_kind",
                label=t("stories.field.value_kind"),
                optional=True,
                element=StaticSelectElement(
                    action_id="value_kind",
                    placeholder=t("stories.pick"),
                    options=[
                        Option(text=t(f"stories.kind.{k.value}"), value=k.value) for k in ValueKind
                    ],
                ),
            ),
            InputBlock(
                block_id="shareable",
                label=t("stories.field.shareable"),
                optional=True,
                element=CheckboxesElement(
                    action_id="shareable",
                    options=[Option(text=t("stories.shareable_yes"), value="yes")],
                ),
            ),
        ],
    )


def build_testimonial_modal(t: Translator, *, community_id: int, community: str, name: str) -> View:
    """The short form: one sentence, whose words (the person's own name by default), shareable."""
    return View(
        type="modal",
        callback_id=TESTIMONIAL_VIEW,
        private_metadata=str(community_id),
        title=t("stories.testimonial_title"),
        submit=t("stories.submit"),
        close=t("stories.cancel"),
        blocks=[
            SectionBlock(text=mrkdwn(t("stories.testimonial_intro", community=community))),
            InputBlock(
                block_id="sentence",
                label=t("stories.field.sentence"),
                element=PlainTextInputElement(
                    action_id="sentence", multiline=True, max_length=SENTENCE_MAX
                ),
            ),
            InputBlock(
                block_id="name",
                label=t("stories.field.name"),
                element=PlainTextInputElement(
                    action_id="name", initial_value=name[:NAME_MAX] or None, max_length=NAME_MAX
                ),
            ),
            InputBlock(
                block_id="shareable",
                label=t("stories.field.shareable"),
                optional=True,
                element=CheckboxesElement(
                    action_id="shareable",
                    options=[Option(text=t("stories.shareable_yes"), value="yes")],
                ),
            ),
        ],
    )


def parse_testimonial(view: dict[str, Any]) -> tuple[int, TestimonialInput]:
    def text(name: str) -> str:
        value = input_values(view, name, name).get("value")
        return typed(value if isinstance(value, str) else None).strip()

    shared = input_values(view, "shareable", "shareable").get("selected_options") or []
    return row_id(view.get("private_metadata")), TestimonialInput(
        sentence=text("sentence"), name=text("name"), shareable=bool(shared)
    )


def build_picker(
    t: Translator, *, kind: str, choices: list[tuple[int, str]]
) -> tuple[Mrkdwn, list[Block]]:
    """Which of the person's communities a story (or testimonial) is for: one button each."""
    text = t(f"stories.pick_community.{kind}")
    buttons = [
        ButtonElement(text=name[:75], action_id=f"{PICK}:{kind}:{cid}", value=str(cid))
        for cid, name in choices[:25]
    ]
    blocks: list[Block] = [SectionBlock(text=mrkdwn(text))]
    blocks += [ActionsBlock(elements=buttons[i : i + 5]) for i in range(0, len(buttons), 5)]
    return echo(text), blocks


def build_picker_modal(t: Translator, *, kind: str, choices: list[tuple[int, str]]) -> View:
    """The picker as a modal, for the Home (a click in it pushes the form on top)."""
    _, blocks = build_picker(t, kind=kind, choices=choices)
    title = "stories.testimonial_title" if kind == "testimonial" else "stories.modal_title"
    return View(type="modal", title=t(title), close=t("stories.cancel"), blocks=blocks)


def parse_modal(view: dict[str, Any]) -> tuple[int, StoryInput]:
    def values(name: str) -> dict[str, Any]:
        return input_values(view, name, name)  # each input's block and action share its name

    def text(name: str) -> str:
        value = values(name).get("value")
        return typed(value if isinstance(value, str) else None).strip()

    def select(name: str) -> str | None:
        option = values(name).get("selected_option")
        value = option.get("value") if isinstance(option, dict) else None
        return value if isinstance(value, str) else None  # checked against the choices later

    shared = values("shareable").get("selected_options") or []
    return row_id(view.get("private_metadata")), StoryInput(
        title=text("title"),
        context=text("context"),
        contribution=text("contribution"),
        benefit=text("benefit"),
        value_amount=text("value_amount") or None,
        value_unit=select("value_unit"),
        people_involved=text("people_involved"),
        shareable=bool(shared),
        value_kind=select("value_kind"),
    )


def _value(t: Translator, story: SuccessStory) -> str:
    if story.value_amount is None:
        return ""
    return t(
        "stories.value",
        amount=t.number(story.value_amount),
        unit=t(f"stories.unit.{story.value_unit or 'other'}"),
    )


def build_story(t: Translator, story: SuccessStory, *, author: str | None) -> Mrkdwn:
    """The story as mrkdwn: what its author typed shows as typed; the author is ours to mention."""
    if story.kind == StoryKind.TESTIMONIAL:
        line = say(t, "stories.testimonial_line", text=story.benefit, name=story.people_involved)
        if author:
            line = Mrkdwn("\n").join([line, say(t, "stories.by", author=mention(author))])
        return cut(line)
    lines: list[str] = [md("*{title}*", title=story.title)]  # plain text is escaped by the join
    if author:
        lines.append(say(t, "stories.by", author=mention(author)))
    lines += [
        say(t, "stories.line.context", text=story.context[:500]),
        say(t, "stories.line.contribution", text=story.contribution[:500]),
        say(t, "stories.line.benefit", text=story.benefit[:500]),
    ]
    if value := _value(t, story):
        lines.append(value)
    if story.value_kind:
        lines.append(t("stories.line.kind", kind=t(f"stories.kind.{story.value_kind.value}")))
    return cut(Mrkdwn("\n").join(lines))


def build_review(
    t: Translator,
    *,
    community: str,
    stories: list[tuple[SuccessStory, str | None]],
    may_validate: bool,
) -> tuple[Mrkdwn, list[Block]]:
    title = t("stories.review_title", community=community)
    blocks: list[Block] = [HeaderBlock(text=title[:150])]
    if not stories:
        blocks.append(SectionBlock(text=mrkdwn(t("stories.none"))))
    for story, author in stories:
        status = t(f"stories.status.{story.status.value}")
        blocks.append(
            SectionBlock(
                text=mrkdwn(
                    md(
                        "{story}\n_{status}_",
                        story=build_story(t, story, author=author),
                        status=status,
                    )
                )
            )
        )
        buttons = []
        if may_validate and story.status.value == "submitted":
            buttons = [
                ButtonElement(
                    text=t("stories.validate"),
                    action_id=f"{VALIDATE}:{story.id}",
                    value=str(story.id),
                    style="primary",
                ),
                ButtonElement(
                    text=t("stories.reject"), action_id=f"{REJECT}:{story.id}", value=str(story.id)
                ),
            ]
        elif (
            may_validate
            and story.status.value == "validated"
            and story.shareable
            and not story.posted_ts
        ):
            buttons = [
                ButtonElement(
                    text=t("stories.post"), action_id=f"{POST}:{story.id}", value=str(story.id)
                )
            ]
        if buttons:
            blocks.append(ActionsBlock(elements=buttons))
    blocks.append(ContextBlock(elements=[mrkdwn(t("stories.review_hint"))]))
    return echo(title), blocks
