"""The value report: HTML that stands alone, CSV/XLSX with formulas neutralised, empty periods."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import cli, periods, report
from bot.config import HealthThresholds
from bot.disclosure import Rule
from bot.i18n import translate
from bot.models import Community, StoryStatus, SuccessStory, utcnow
from tests import factories
from tests.factories import WORKSPACE
from tests.test_kpis import small_programme

FR, EN = translate("fr"), translate("en")


@pytest.mark.parametrize(
    "risky",
    ["=1+1", "+33 6", "-2+3", "@SUM(A1)", "\tx", "\ry"],
    ids=["formula", "phone", "minus", "at", "tab", "carriage-return"],
)
def test_formula_cells_are_neutralised(risky: str) -> None:
    assert report.neutralise(risky) == "'" + risky


@pytest.mark.parametrize(
    "safe",
    ["Data Science", "a=b", 12, -3.5, None, ""],
    ids=["name", "equals-inside", "int", "negative-float", "none", "empty"],
)
def test_ordinary_cells_are_left_alone(safe: object) -> None:
    assert report.neutralise(safe) == safe


async def build(sessions: async_sessionmaker[AsyncSession], period: str) -> report.SponsorReport:
    async with sessions() as session:
        return await report.build(
            session,
            workspace_id=WORKSPACE,
            window=periods.parse_period(period),
            programme_name="Programme test",
            thresholds=HealthThresholds(),
            rule=Rule(min_answers=5),
        )


async def test_a_period_with_no_data_says_so_and_exports_valid_files(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    built = await build(sessions, "2001-Q1")
    assert not built.has_data
    page = report.to_html(FR, built)
    assert "Aucune donnée pour cette période." in page and page.startswith("<!doctype html>")
    assert "No data for this period." in report.to_html(EN, built)
    rows = list(
        csv.reader(io.StringIO(report.report_csv(FR, built).decode("utf-8-sig")), delimiter=";")
    )
    assert rows[0][0] == "Communauté" and len(rows) == 1
    book = load_workbook(io.BytesIO(report.report_xlsx(EN, built)))
    assert book.sheetnames == ["Programme", "Communities", "Stories"]
    assert book["Communities"].cell(1, 1).value == "Community"


async def test_the_report_shows_the_three_levels_with_charts_and_stories(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    made = await small_programme(sessions)
    async with sessions.begin() as session:
        row = await session.get(Community, made["agile"].id)
        assert row is not None
        row.name = "=cmd|' /C calc'!A0"
        await session.execute(
            sa.update(SuccessStory)
            .where(SuccessStory.value_unit == "EUR")
            .values(title="Un client sauvé", benefit="un contrat renouvelé")
        )
    today = utcnow().date()
    built = await build(sessions, f"{today.year}")
    page = report.to_html(FR, built)
    assert page.count('<img src="data:image/png;base64,') == 3  # trend, statuses, value kinds
    assert "1. Adoption et participation" in page and "3. Valeur tangible" in page
    assert "Un client sauvé" in page and "valeur potentielle" in page
    assert "<script" not in page and "http" not in page.split("<body>")[1]  # self-contained
    assert "=cmd|&#39; /C calc&#39;!A0" in page  # escaped in HTML
    rows = list(
        csv.reader(io.StringIO(report.report_csv(FR, built).decode("utf-8-sig")), delimiter=";")
    )
    names = [r[0] for r in rows[1:]]
    assert "'=cmd|' /C calc'!A0" in names and "Data Science" in names
    book = load_workbook(io.BytesIO(report.report_xlsx(FR, built)))
    programme = {r[0]: r[1] for r in book["Programme"].iter_rows(min_row=2, values_only=True)}
    assert (
        programme[FR("figure.members_unique")] == 4 and programme[FR("figure.members_summed")] == 6
    )
    assert (
        programme[FR("report.kpi.value", figure=FR("figure.value"), unit=FR.unit("hours"))] == 10
    )  # the 5.5 hours awaiting validation wait
    assert programme[FR("figure.stories_pending")] == 1
    assert (
        programme[FR("report.kpi.value", figure=FR("figure.value"), unit=FR.unit("euros"))] == 1000
    )
    stories = list(book["Success stories"].iter_rows(min_row=2, values_only=True))
    assert stories[0][1] == "Un client sauvé"


async def test_a_community_named_like_a_script_shows_as_its_name_in_the_page(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    hostile = "<script>alert(1)</script>"
    made = await factories.community(sessions, channel="C0XSS", name=hostile, members=("U0LUCAS",))
    async with sessions.begin() as session:
        session.add(
            SuccessStory(
                workspace_id=WORKSPACE,
                community_id=made.id,
                title='<img src=x onerror="alert(2)">',
                benefit="<b>gras</b>",
                status=StoryStatus.VALIDATED,
            )
        )
    built = await build(sessions, str(utcnow().year))
    for language in (FR, EN):
        page = report.to_html(language, built)
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # the communities table
        assert "&lt;img src=x onerror=&#34;alert(2)&#34;&gt;" in page  # a top story
        assert "&lt;b&gt;gras&lt;/b&gt;" in page
        assert "<script" not in page and "<b>gras" not in page and 'onerror="' not in page


def test_cop_report_writes_the_file(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COP_DATABASE_URL", database_url)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "programme.csv").write_text("name,channel_id\nData Science,C0DATA\n")
    assert cli.main(["communities", "import", "programme.csv", "--workspace", "T0COP"]) == 0
    out = tmp_path / "q4.xlsx"
    assert cli.main(["report", "--period", "2026-Q4", "--format", "xlsx", "--out", str(out)]) == 0
    assert load_workbook(out).sheetnames[0] == "Programme"
    assert cli.main(["report", "--period", "2026-Q4", "--format", "html"]) == 0
    assert "Rapport de valeur" in (tmp_path / "value-report-2026-Q4.html").read_text()
    assert cli.main(["report", "--period", "Q4", "--format", "csv"]) == 2  # said, not a traceback


async def test_a_running_quarter_is_reported_to_date_and_never_charted_ahead(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    # `cop report --period 2026-Q4` run on 30 November: December has not happened yet
    await factories.community(sessions, members=("U0LUCAS",))
    async with sessions() as session:
        built = await report.build(
            session,
            workspace_id=WORKSPACE,
            window=periods.parse_period("2026-Q4"),
            programme_name="Programme test",
            thresholds=HealthThresholds(),
            rule=Rule(min_answers=5),
            now=datetime(2026, 11, 30, 15, tzinfo=UTC),
        )
    assert built.window.running and built.window.last_day == date(2026, 11, 30)
    assert [m.window.label for m in built.trend] == ["2026-10", "2026-11"]  # no December at 0
    assert built.trend[-1].window.end == date(2026, 12, 1)  # November through today
    page = report.to_html(FR, built)
    start, end = FR.date(date(2026, 10, 1)), FR.date(date(2026, 11, 30))
    assert FR("report.period_to_date", period="T4 2026", start=start, end=end) in page
    assert "Période T4 2026 à date" in page
    assert EN(
        "report.period_to_date",
        period="Q4 2026",
        start=EN.date(date(2026, 10, 1)),
        end=EN.date(date(2026, 11, 30)),
    ) in report.to_html(EN, built)


def test_comparisons_use_windows_of_the_same_length() -> None:
    month_to_date = periods.to_date(periods.Period.MONTH, date(2026, 11, 12))
    assert periods.previous(month_to_date) == periods.Window(
        date(2026, 10, 1), date(2026, 10, 13), periods.Period.MONTH
    )
    # 1–31 March compared with February, which has fewer days: all of February, no more
    march = periods.parse_period("2026-03")
    assert periods.previous(march).end == date(2026, 3, 1)
    quarter = periods.so_far(periods.parse_period("2026-Q4"), date(2026, 11, 30))
    assert periods.previous(quarter) == periods.Window(
        date(2026, 7, 1), date(2026, 8, 31), periods.Period.QUARTER
    )
    whole = periods.parse_period("2026-Q3")
    assert periods.so_far(whole, date(2026, 11, 30)) == whole and not whole.running
