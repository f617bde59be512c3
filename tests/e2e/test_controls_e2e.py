"""The page's run controls: pause, step and resume the epochs; play a scenario."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import LiveServer, start_server, stop_server

TIMEOUT_MS = 30_000


@pytest.fixture(scope="module")
def own_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server of its own: these tests stop the clock and replace the cluster."""
    server = start_server(Path(tmp_path_factory.mktemp("controls")))
    try:
        yield server
    finally:
        stop_server(server)


def test_pause_step_and_resume_the_epochs(page: Page, own_server: LiveServer) -> None:
    page.goto(own_server.url)
    expect(page.locator("#connection")).to_have_text("live", timeout=TIMEOUT_MS)
    expect(page.locator("#clock-epoch")).to_have_text(re.compile(r"^\d+$"),
                                                      timeout=TIMEOUT_MS)

    page.get_by_role("button", name="Pause", exact=True).click()
    expect(page.locator("#clock-left")).to_have_text("paused", timeout=TIMEOUT_MS)
    paused = int(page.locator("#clock-epoch").inner_text())
    assert own_server.state()["epoch"] == paused

    page.get_by_role("button", name="Step", exact=True).click()
    expect(page.locator("#clock-epoch")).to_have_text(str(paused + 1),
                                                      timeout=TIMEOUT_MS)
    page.get_by_role("button", name="Resume", exact=True).click()
    expect(page.locator("#clock-left")).to_have_text(re.compile(r"s left$"),
                                                     timeout=TIMEOUT_MS)
    expect(page.get_by_role("button", name="Step", exact=True)).to_be_disabled()


def test_playing_a_partition_scenario_draws_the_cut(page: Page,
                                                    own_server: LiveServer) -> None:
    page.goto(own_server.url)
    expect(page.locator("#connection")).to_have_text("live", timeout=TIMEOUT_MS)
    page.locator("#scenario-form select").select_option("partition-minority-majority")
    page.get_by_role("button", name="Play", exact=True).click()
    expect(page.locator("#scenario-about")).to_contain_text("A minority and a majority",
                                                            timeout=TIMEOUT_MS)

    # {1, 2} | {3, 4, 5} from epoch 6: six links cut; healed at epoch 16.
    cut = page.locator("#network line.link.cut")
    expect(cut).to_have_count(6, timeout=TIMEOUT_MS)
    expect(page.locator("#event-log")).to_contain_text("partition {1, 2} | {3, 4, 5}")
    expect(cut).to_have_count(0, timeout=TIMEOUT_MS)
    expect(page.locator("#event-log")).to_contain_text("network healed")
