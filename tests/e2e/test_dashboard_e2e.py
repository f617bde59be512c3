"""The dashboard in headless Chromium against a real cluster of node processes.

One server serves every test of this module, so each test asserts relative to
what it sees when it starts (a node another test crashed may still be down).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.conftest import wait_for
from tests.e2e.conftest import LiveServer, pid_alive

TIMEOUT_MS = 30_000


def open_dashboard(page: Page, server: LiveServer) -> None:
    page.goto(server.url)
    expect(page.locator("#connection")).to_have_text("live", timeout=TIMEOUT_MS)


def test_page_shows_five_nodes(page: Page, live_server: LiveServer) -> None:
    open_dashboard(page, live_server)
    nodes = page.locator("#network [data-node-id]")
    expect(nodes).to_have_count(5, timeout=TIMEOUT_MS)
    ids = sorted(int(n.get_attribute("data-node-id")) for n in nodes.all())
    assert ids == [1, 2, 3, 4, 5]
    expect(page.locator("#clock-epoch")).to_have_text(re.compile(r"^\d+$"))


def test_a_block_becomes_finalized_on_screen(page: Page,
                                             live_server: LiveServer) -> None:
    open_dashboard(page, live_server)
    # The newest final block: the oldest may be fading out under another panel.
    final = page.locator("#tree .block.finalized").last
    expect(final).to_be_visible(timeout=TIMEOUT_MS)
    block_hash = final.get_attribute("data-block-hash")
    assert re.fullmatch(r"[0-9a-f]{64}", block_hash)

    # The server agrees, and can say why the block is final.
    info = live_server.get(f"api/blocks/{block_hash}")
    assert info["finalized_by"]
    final.click()
    expect(page.locator("#block-why")).to_contain_text("is final on",
                                                        timeout=TIMEOUT_MS)


def test_crash_and_restart_from_the_inspector(page: Page,
                                              live_server: LiveServer) -> None:
    open_dashboard(page, live_server)
    node2 = page.locator("#network [data-node-id='2']")
    pid = live_server.node(2)["pid"]
    assert pid_alive(pid)

    node2.click()
    expect(page.locator("#insp-title")).to_have_text("Node n2")
    page.get_by_role("button", name="Crash", exact=True).click()

    expect(node2).to_have_class(re.compile(r"\bcrashed\b"), timeout=TIMEOUT_MS)
    wait_for(lambda: not pid_alive(pid), 20, f"node 2's process {pid} to be gone")
    assert live_server.node(2)["status"] == "crashed"

    others = max(n["finalized_height"] for n in live_server.state()["nodes"])
    page.get_by_role("button", name="Restart", exact=True).click()
    expect(node2).not_to_have_class(re.compile(r"\bcrashed\b"), timeout=TIMEOUT_MS)
    restarted = wait_for(
        lambda: (n := live_server.node(2))["status"] == "running" and n, 30,
        "node 2 to run again")
    assert restarted["pid"] != pid and pid_alive(restarted["pid"])
    assert restarted["restarts"] >= 1

    # It catches up: past what the others had finalized when it came back.
    wait_for(lambda: live_server.node(2)["finalized_height"] > others, 30,
             "node 2 to catch up")
    expect(node2.locator("text.sub")).to_have_text(re.compile(r"height \d+"))


def test_transaction_typed_into_the_form_is_finalized(
        page: Page, live_server: LiveServer) -> None:
    open_dashboard(page, live_server)
    form = page.locator("form#tx-form")
    form.locator("input[name=sender]").fill("11")
    form.locator("input[name=receiver]").fill("12")
    form.locator("input[name=amount]").fill("42.5")
    form.get_by_role("button", name="Submit").click()

    item = page.locator("#tx-list li[data-tx-id^='11:']").first
    expect(item).to_be_visible(timeout=TIMEOUT_MS)
    expect(item).to_have_class(re.compile(r"\bfinalized\b"), timeout=TIMEOUT_MS)
    expect(item).to_contain_text("11 → 12, 42.5")
    tx_id = item.get_attribute("data-tx-id")
    assert live_server.get(f"api/transactions/{tx_id}")["status"] == "finalized"
    expect(page.locator("#tx-error")).to_have_text("")


def test_invalid_transaction_shows_the_servers_reason(
        page: Page, live_server: LiveServer) -> None:
    open_dashboard(page, live_server)
    form = page.locator("form#tx-form")
    form.locator("input[name=sender]").fill("3")
    form.locator("input[name=receiver]").fill("4")
    form.locator("input[name=amount]").fill("-5")
    form.get_by_role("button", name="Submit").click()
    expect(page.locator("#tx-error")).to_have_text("amount must be positive")
    expect(form.locator("input[name=amount]")).to_have_attribute("aria-invalid",
                                                                 "true")

    form.locator("input[name=amount]").fill("5")
    form.locator("input[name=receiver]").fill("3")
    form.get_by_role("button", name="Submit").click()
    expect(page.locator("#tx-error")).to_have_text(
        "sender and receiver must be different accounts")

    form.locator("input[name=sender]").fill("<b>x</b>")
    form.get_by_role("button", name="Submit").click()
    expect(page.locator("#tx-error")).to_have_text("sender must be an integer")
    assert page.locator("#tx-list li[data-tx-id^='3:']").count() == 0


def test_screenshot_of_a_running_dashboard(page: Page, live_server: LiveServer,
                                           tmp_path: Path) -> None:
    page.set_viewport_size({"width": 1600, "height": 1000})
    open_dashboard(page, live_server)
    expect(page.locator("#tree .block.finalized").first).to_be_visible(
        timeout=TIMEOUT_MS)
    page.locator("#network [data-node-id='3']").click()
    expect(page.locator("#insp-title")).to_have_text("Node n3")
    target = Path(os.environ.get("DASHBOARD_SCREENSHOT", tmp_path / "dashboard.png"))
    page.screenshot(path=str(target), full_page=True)
    assert target.stat().st_size > 10_000
