"""The dashboard in a real headless browser (Debian's chromium and chromium-driver, driven by
Selenium): the link `/cop health` gives opens the programme's table, the filter and the sort
work, and a community's page shows the figures `/cop health <community>` answers with.

Selenium blocks: the browser is driven from a thread while the bot serves on this event loop."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import MANAGER, Bot
from tests.dashboard_programme import NAMES, ask, dashboard_link, health_figures, seed

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")

pytestmark = pytest.mark.skipif(
    CHROMIUM is None or DRIVER is None,
    reason="needs Debian's chromium and chromium-driver (apt-get install chromium "
    "chromium-driver; .ci/run installs them)",
)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--lang=fr"):
        options.add_argument(argument)
    options.add_argument("--window-size=1600,1000")
    driver = webdriver.Chrome(service=Service(str(DRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def spaced(text: str) -> str:
    """WebDriver reads no-break spaces (« 60 % ») as plain ones: compare the words."""
    return " ".join(text.replace("\u202f", " ").replace("\xa0", " ").split())


def visible_names(driver: Any) -> list[str]:
    from selenium.webdriver.common.by import By

    rows = driver.find_elements(By.CSS_SELECTOR, "#communities tbody tr")
    return [r.find_element(By.CSS_SELECTOR, "td a").text for r in rows if r.is_displayed()]


def use_the_table(driver: Any, link: str) -> dict[str, Any]:
    """What a manager sees and does on the programme page."""
    from selenium.webdriver.common.by import By

    seen: dict[str, Any] = {}
    driver.get(link)
    seen["title"] = driver.find_element(By.TAG_NAME, "h1").text
    seen["all"] = visible_names(driver)
    box = driver.find_element(By.ID, "filter")
    box.send_keys("sécu")
    seen["filtered"] = visible_names(driver)
    seen["count"] = driver.find_element(By.ID, "shown").text
    box.clear()
    box.send_keys(" ")  # clear() sends no input event: a space (trimmed) brings every row back
    seen["cleared"] = visible_names(driver)
    members = driver.find_element(By.XPATH, "//th[button[normalize-space()='Membres']]/button")
    members.click()
    seen["ascending"] = [
        int(c.get_attribute("data-sort"))
        for c in driver.find_elements(By.CSS_SELECTOR, "td[data-figure=members]")
    ]
    name = driver.find_element(By.XPATH, "//th[button[normalize-space()='Communauté']]/button")
    name.click()
    seen["by_name"] = visible_names(driver)
    name.click()
    seen["by_name_desc"] = visible_names(driver)
    row = driver.find_element(By.CSS_SELECTOR, "tr[data-slug=data-science]")
    seen["row"] = {
        c.get_attribute("data-figure"): c.text
        for c in row.find_elements(By.CSS_SELECTOR, "td[data-figure]")
    }
    row.find_element(By.CSS_SELECTOR, "td a").click()
    seen["community_title"] = driver.find_element(By.TAG_NAME, "h1").text
    seen["community"] = {
        e.get_attribute("data-figure"): e.text
        for e in driver.find_elements(By.CSS_SELECTOR, "[data-figure]")
    }
    seen["chart"] = driver.execute_script(
        "var i = document.querySelector('.charts img'); return i.complete && i.naturalWidth;"
    )
    return seen


async def test_the_dashboard_filters_sorts_and_agrees_with_cop_health(
    bot: Bot, browser: Any
) -> None:
    await seed(bot)
    link = dashboard_link(bot, await ask(bot, "santé", user=MANAGER))
    answer = health_figures(await ask(bot, "santé data-science", user=MANAGER))

    seen = await asyncio.to_thread(use_the_table, browser, link)

    assert seen["title"] == "Tableau de bord du programme « Programme test »"
    assert sorted(seen["all"]) == sorted(NAMES)
    assert seen["filtered"] == ["Sécurité"] and seen["count"] == "1"
    assert sorted(seen["cleared"]) == sorted(NAMES)
    assert seen["ascending"] == sorted(seen["ascending"]) and len(set(seen["ascending"])) > 1
    assert seen["by_name"] == ["Agilité", "Cuisine du monde", "Data Science", "Sécurité"]
    assert seen["by_name_desc"] == list(reversed(seen["by_name"]))
    # the table's row and the community's page say what /cop health data-science says
    for figure in ("members", "active", "rate", "messages"):
        assert spaced(seen["row"][figure]) == spaced(answer[figure]), figure
    assert seen["community_title"] == "Tableau de bord de la communauté « Data Science »"
    for figure, value in answer.items():
        assert spaced(seen["community"][figure]) == spaced(value), figure
    assert seen["chart"] > 0
