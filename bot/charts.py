"""Charts as PNG bytes (matplotlib, Agg backend: no display, safe in a server and in threads).

Labels arrive already translated, and numbers are written by the caller's `number` (the
reader's Translator.axis_number: « 1 200 » in French, "1,200" in English); counts get whole-number
ticks only. This module only draws.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import matplotlib

matplotlib.use("Agg")

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

if TYPE_CHECKING:
    from bot.i18n import Translator
    from bot.messages import Chart

Number = Callable[[float, object], str]


def _plain(value: float, _position: object = None) -> str:
    return f"{value:g}"


def _counts(axis: Axes, number: Number, *, horizontal: bool = False) -> None:
    """Whole-number ticks (no « 2,5 messages »), written the reader's way."""
    target = axis.xaxis if horizontal else axis.yaxis
    target.set_major_locator(MaxNLocator(integer=True))
    target.set_major_formatter(FuncFormatter(number))


# pyplot is never used (it keeps global state); Figure objects are independent, but font
# caching inside matplotlib is not thread-safe, so draws are serialised.
_LOCK = threading.Lock()
_BLUE, _GREEN, _GREY = "#1f6feb", "#2da44e", "#8c959f"
STATUS_COLOURS = {
    "thriving": "#2da44e",
    "steady": "#54aeff",
    "at_risk": "#d4a72c",
    "dormant": "#cf222e",
    "no_data": "#8c959f",
    "starting": "#8250df",
}


def _png(fig: Figure, dpi: int = 110) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    return buf.getvalue()


def trend(
    *,
    title: str,
    labels: Sequence[str],
    active: Sequence[int],
    messages: Sequence[int],
    active_label: str,
    messages_label: str,
    number: Number = _plain,
    dpi: int = 110,
) -> bytes:
    """Active people (line) and messages (bars) per period."""
    with _LOCK:
        return _png(
            trend_figure(
                title=title,
                labels=labels,
                active=active,
                messages=messages,
                active_label=active_label,
                messages_label=messages_label,
                number=number,
            ),
            dpi,
        )


def message_trend(chart: Chart, title: str, t: Translator, *, dpi: int = 110) -> bytes:
    """The PNG of a message's `Chart` for one reader, whatever the platform: weeks as « 7 sept. »,
    the legend in their language, counts written their way; `title` is the chart's title as the
    platform rendered it (slow: call it off the event loop)."""
    return trend(
        title=title,
        labels=[t.date(day, "d MMM") for day in chart.days],
        active=list(chart.active),
        messages=list(chart.messages),
        active_label=t("health.chart_active"),
        messages_label=t("health.chart_messages"),
        number=t.axis_number,
        dpi=dpi,
    )


def trend_figure(
    *,
    title: str,
    labels: Sequence[str],
    active: Sequence[int],
    messages: Sequence[int],
    active_label: str,
    messages_label: str,
    number: Number = _plain,
) -> Figure:
    """The trend as a Figure (drawn under `trend`'s lock), whose tick labels one can read."""
    fig = Figure(figsize=(8, 3.6))
    ax = fig.add_subplot()
    positions = list(range(len(labels)))
    ax.bar(positions, messages, color=_GREY, alpha=0.45, label=messages_label)
    ax.set_ylabel(messages_label)
    ax2 = ax.twinx()
    ax2.plot(positions, active, color=_BLUE, marker="o", linewidth=2, label=active_label)
    ax2.set_ylabel(active_label)
    ax2.set_ylim(bottom=0)
    # weeks of nothing yet: each axis from 0 to 1, not matplotlib's ±0.05 written « 0, -0 »
    for axis, values in ((ax, messages), (ax2, active)):
        if not any(values):
            axis.set_ylim(0, 1)
    _counts(ax, number)
    _counts(ax2, number)
    ax.set_xticks(positions, list(labels), rotation=45, ha="right", fontsize=8)
    ax.set_title(title)
    handles = ax.get_legend_handles_labels()[0] + ax2.get_legend_handles_labels()[0]
    ax.legend(
        handles,
        [messages_label, active_label],
        loc="upper center",
        bbox_to_anchor=(0.5, -0.22),
        ncol=2,
        fontsize=8,
        frameon=False,
    )
    for spine in ("top",):
        ax.spines[spine].set_visible(False)
        ax2.spines[spine].set_visible(False)
    return fig


def bars(
    *,
    title: str,
    labels: Sequence[str],
    values: Sequence[float],
    colours: Sequence[str] = (),
    number: Number = _plain,
) -> bytes:
    """Horizontal bars of counts, e.g. communities by status or stories by kind."""
    with _LOCK:
        return _png(
            bars_figure(title=title, labels=labels, values=values, colours=colours, number=number)
        )


def bars_figure(
    *,
    title: str,
    labels: Sequence[str],
    values: Sequence[float],
    colours: Sequence[str] = (),
    number: Number = _plain,
) -> Figure:
    fig = Figure(figsize=(7, 0.5 + 0.45 * max(1, len(labels))))
    ax = fig.add_subplot()
    positions = list(range(len(labels)))
    ax.barh(positions, values, color=list(colours) or _GREEN)
    ax.set_yticks(positions, list(labels))
    ax.invert_yaxis()
    ax.set_title(title)
    for pos, value in zip(positions, values, strict=True):
        ax.text(value, pos, f" {number(value, None)}", va="center", fontsize=8)
    _counts(ax, number, horizontal=True)
    ax.spines["top"].set_visible(False)
    ax.spines["right"].set_visible(False)
    return fig


def radar(
    *,
    title: str,
    labels: Sequence[str],
    current: Sequence[float | None],
    current_label: str,
    low: Sequence[float | None] = (),
    high: Sequence[float | None] = (),
    spread_label: str = "",
    previous: Sequence[float | None] = (),
    previous_label: str = "",
    levels: Sequence[str] = (),
    number: Number = _plain,
) -> bytes:
    """A radar (spider) chart on the compass's 1–4 scale: this round's medians (filled), the
    spread of the answers (a light band) and the previous round (dashed), one spoke per label.
    A spoke with no value is drawn at the centre."""
    with _LOCK:
        return _png(
            radar_figure(
                title=title,
                labels=labels,
                current=current,
                current_label=current_label,
                low=low,
                high=high,
                spread_label=spread_label,
                previous=previous,
                previous_label=previous_label,
                levels=levels,
                number=number,
            )
        )


def radar_figure(
    *,
    title: str,
    labels: Sequence[str],
    current: Sequence[float | None],
    current_label: str,
    low: Sequence[float | None] = (),
    high: Sequence[float | None] = (),
    spread_label: str = "",
    previous: Sequence[float | None] = (),
    previous_label: str = "",
    levels: Sequence[str] = (),
    number: Number = _plain,
) -> Figure:
    import math
    import textwrap

    count = len(labels)
    angles = [2 * math.pi * i / count for i in range(count)]  # clockwise from the top
    closed = [*angles, angles[0]]

    def ring(values: Sequence[float | None]) -> list[float]:
        points = [0.0 if v is None else float(v) for v in values]
        return [*points, points[0]]

    fig = Figure(figsize=(7.2, 6.4))
    ax: Any = fig.add_subplot(projection="polar")
    ax.set_theta_offset(math.pi / 2)
    ax.set_theta_direction(-1)
    ax.set_ylim(0, 4)
    ax.set_yticks([1, 2, 3, 4])
    for label in ax.set_yticklabels(
        [f"{number(n, None)} {levels[n - 1]}" if levels else number(n, None) for n in (1, 2, 3, 4)],
        fontsize=7,
        color="#57606a",
    ):
        label.set_bbox({"facecolor": "white", "edgecolor": "none", "alpha": 0.75, "pad": 1})
        label.set_zorder(5)
    ax.set_rlabel_position(360 - 180 / count)  # between the last spoke and the first
    ax.set_xticks(angles, [textwrap.fill(label, 18) for label in labels], fontsize=9)
    ax.tick_params(axis="x", pad=14)
    if low and high:
        ax.fill_between(closed, ring(low), ring(high), color=_BLUE, alpha=0.12, label=spread_label)
    if previous:
        ax.plot(
            closed, ring(previous), color=_GREY, linestyle="--", linewidth=1.5, label=previous_label
        )
    ax.plot(closed, ring(current), color=_BLUE, marker="o", linewidth=2, label=current_label)
    ax.fill(closed, ring(current), color=_BLUE, alpha=0.25)
    ax.set_title(title, pad=24)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.08), ncol=3, fontsize=8, frameon=False)
    return fig
