"""The status page in a real headless Chromium, fed by a StatusBoard that changes under it.

Uses Debian's chromium (installed by scripts/bootstrap) through Playwright, never a
downloaded browser. A thread plays an agent with three destinations: batches, a backlog, a
destination that keeps failing, growing cdc_raw usage. The page must show all three and its
numbers must follow. A screenshot goes to /tmp/status-page.png for a person to look at.
"""

from __future__ import annotations

import random
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, HttpCredentials, Page, expect, sync_playwright
from playwright.sync_api import Error as PlaywrightError
from pydantic import SecretStr

from casscade.commitlog.position import Position
from casscade.errors import TransientSinkError
from casscade.events.model import ChangeEvent, Op
from casscade.observability.board import BoardTiming, StatusBoard
from casscade.observability.config import HttpConfig
from casscade.observability.metrics import Metrics
from casscade.observability.server import StatusServer
from casscade.observability.telemetry import Telemetry

SCREENSHOT = Path("/tmp/status-page.png")  # noqa: S108 - a fixed place to look at it
DEADLINE_S = 30.0
TOKEN = "page-token"  # noqa: S105 - a test token


def chromium_path() -> str:
    """Debian's chromium binary (the /usr/bin/chromium wrapper only adds flags)."""
    for candidate in ("/usr/lib/chromium/chromium", shutil.which("chromium")):
        if candidate and Path(candidate).exists():
            return candidate
    pytest.fail("Debian's chromium is missing: run scripts/bootstrap (apt-get install chromium)")


class FakeAgent:
    """Plays an agent's reports from a thread until stopped."""

    def __init__(self, telemetry: Telemetry) -> None:
        self.telemetry = telemetry
        self.handles = [
            telemetry.destination("pg", "postgres", ["shop.orders", "shop.users"]),
            telemetry.destination("ch", "clickhouse", ["shop.orders"]),
            telemetry.destination("ts", "timescaledb", ["shop.readings"]),
        ]
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="fake-agent", daemon=True)

    def _run(self) -> None:
        rng = random.Random(7)
        t = self.telemetry
        t.source_reached()
        for handle in self.handles[:2]:
            handle.reached(Position(1, 0))
        offset = 0
        while not self.stop.wait(0.1):
            t.heartbeat()
            now = time.time()
            offset += 1000
            t.segment_decoded(1000)
            t.cdc_raw_usage(used_bytes=(40 + offset // 10_000) << 20, total_bytes=4096 << 20)
            for handle, table in zip(self.handles[:2], ("orders", "users"), strict=True):
                n = rng.randint(50, 400)
                written = int((now - rng.uniform(0.05, 3)) * 1e6)
                events = [ChangeEvent("shop", table, Op.UPSERT, (i,), timestamp_us=written)
                          for i in range(n)]  # fmt: skip
                handle.applied(events, duration_s=rng.uniform(0.01, 0.2),
                               position=Position(2, offset))  # fmt: skip
                handle.backlog(rng.randint(0, 900))
            t.source_writes_seen({"shop.readings": int(now * 1e6)})
            self.handles[2].error(TransientSinkError("ts", "connection refused"), retry_in_s=1)

    def __enter__(self) -> FakeAgent:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=5)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), headless=True)
        yield browser
        browser.close()


def make_telemetry() -> Telemetry:
    # Fast history sampling so the charts fill within the test.
    timing = BoardTiming(window_s=5, history_s=60, sample_every_s=0.5)
    return Telemetry(Metrics("node-a"), StatusBoard("node-a", timing=timing))


def cell(page: Page, destination: str, field: str) -> str:
    locator = page.locator(f'tr[data-destination="{destination}"] td[data-field="{field}"]')
    return locator.inner_text()


def wait_until_changed(page: Page, destination: str, field: str, before: str) -> str:
    """Poll the displayed value until it differs from `before` (fails after the deadline)."""
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        now = cell(page, destination, field)
        if now != before:
            return now
        page.wait_for_timeout(200)
    pytest.fail(f"{destination}.{field} stayed {before!r} for {DEADLINE_S} s")


def test_status_page_shows_three_destinations_and_live_numbers(browser: Browser) -> None:
    """The page lists pg, ch and ts, its counts move with the board, and it draws the charts."""
    telemetry = make_telemetry()
    errors: list[str] = []
    with FakeAgent(telemetry), StatusServer(telemetry.board, telemetry.metrics.registry,
                                            HttpConfig(port=0)) as server:  # fmt: skip
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(server.url + "/?refresh=1")
        rows = page.locator("#destinations tbody tr[data-destination]")
        expect(rows).to_have_count(3, timeout=DEADLINE_S * 1000)
        names = [rows.nth(i).get_attribute("data-destination") for i in range(3)]
        assert names == ["pg", "ch", "ts"]
        expect(page.locator("#node")).to_have_text("node-a")

        first = cell(page, "pg", "applied_events")
        second = wait_until_changed(page, "pg", "applied_events", first)
        assert int(second.replace(",", "")) > int(first.replace(",", ""))
        wait_until_changed(page, "ch", "position", cell(page, "ch", "position"))
        wait_until_changed(page, "ts", "errors", cell(page, "ts", "errors"))
        wait_until_changed(page, "pg", "position", cell(page, "pg", "position"))

        expect(page.locator('tr[data-destination="ts"] td[data-field="state"]')).to_have_text(
            "retrying"
        )
        expect(
            page.locator('tr[data-destination="ts"] td[data-field="last_error"]')
        ).to_contain_text("connection refused")
        expect(page.locator("#cdc-percent")).to_contain_text("%")
        expect(page.locator("#ready")).to_have_text("not ready")  # ts is retrying
        for chart in ("#chart-lag", "#chart-rate"):
            expect(page.locator(f'{chart} path[data-destination="pg"]')).to_have_count(
                1, timeout=DEADLINE_S * 1000
            )
        page.screenshot(path=str(SCREENSHOT), full_page=True)
        page.close()
    assert errors == []
    assert SCREENSHOT.stat().st_size > 10_000


def is_refused(page: Page, url: str) -> bool:
    """Whether the server refused the browser: a 401 page, or (headless Chromium with no
    credentials to answer the Basic challenge) a navigation ended by the auth failure."""
    try:
        response = page.goto(url)
    except PlaywrightError as exc:
        return "ERR_INVALID_AUTH_CREDENTIALS" in str(exc)
    return response is not None and response.status == 401


def test_status_page_with_a_token_needs_the_credentials(browser: Browser) -> None:
    """Behind a token the page is 401 without credentials and loads with them (Basic)."""
    telemetry = make_telemetry()
    telemetry.destination("pg", "postgres")
    config = HttpConfig(port=0, token=SecretStr(TOKEN))
    with StatusServer(telemetry.board, telemetry.metrics.registry, config,
                      token=SecretStr(TOKEN)) as server:  # fmt: skip
        wrong: HttpCredentials = {"username": "ops", "password": "wrong"}
        for credentials in (None, wrong):
            context = browser.new_context(http_credentials=credentials)
            assert is_refused(context.new_page(), server.url + "/")
            context.close()
        allowed = browser.new_context(http_credentials={"username": "ops", "password": TOKEN})
        page = allowed.new_page()
        response = page.goto(server.url + "/?refresh=1")
        assert response is not None
        assert response.status == 200
        expect(page.locator("#destinations tbody tr[data-destination]")).to_have_count(
            1, timeout=DEADLINE_S * 1000
        )
        expect(page.locator("#problem")).to_be_hidden()
        allowed.close()
