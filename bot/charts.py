"""Charts as PNG bytes (matplotlib, Agg backend: no display, safe in a server and in threads).

Labels arrive already translated, and numbers are written by the caller's `number` (the
reader's Translator.axis_number: « 1 200 » in French, "1,200" in English); counts get whole-number
ticks only. This module only draws.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Callable, Sequence

import matplotlib

matplotlib.use("Agg")

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

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


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
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
            )
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
