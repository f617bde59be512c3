"""Teaching tools in headless Chromium against real node processes.

Keyboard pause/step/resume, time travel on the timeline, network faults set
from the page, the session saved as a scenario, an exported run replayed with
no cluster, the fork demonstration preset, and a presenter with viewers.

The tests of one server share it, in file order; each starts by putting the
cluster back into a known state (running, network healed) through the API.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from backend.cluster.recording import read_recording
from backend.cluster.scenario import load
from tests.conftest import wait_for
from tests.e2e.conftest import LiveServer, pid_alive, start_server, stop_server

TIMEOUT_MS = 30_000
TOKEN = "e2e-presenter-token"


def api_post(server: LiveServer, path: str, body: Any,
             token: str | None = None) -> tuple[int, dict[str, Any]]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["X-Presenter-Token"] = token
    request = urllib.request.Request(server.url + path, data=json.dumps(body).encode(),
                                     headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=60) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def open_page(page: Page, server: LiveServer, query: str = "") -> None:
    page.goto(server.url + query)
    expect(page.locator("#connection")).to_have_text("live", timeout=TIMEOUT_MS)
    expect(page.locator("#clock-epoch")).to_have_text(re.compile(r"^\d+$"),
                                                      timeout=TIMEOUT_MS)


def running(server: LiveServer) -> None:
    """The cluster as the next test expects it: live epochs, no faults."""
    if server.get("api/snapshot")["paused"]:
        api_post(server, "api/clock", {"action": "resume"})
    api_post(server, "api/heal", {})


def heights(server: LiveServer, ids: list[int]) -> list[int]:
    nodes = {n["id"]: n for n in server.state()["nodes"]}
    return [nodes[i]["finalized_height"] for i in ids]


def tree_blocks(page: Page) -> dict[str, str]:
    """Every block drawn in the tree: hash -> finalized / notarized / proposed."""
    return {h: status for h, (status, _) in drawn(page).items()}


def drawn(page: Page) -> dict[str, tuple[str, int]]:
    """Every block drawn in the tree: hash -> (status, epoch)."""
    blocks = page.locator("#tree .block").evaluate_all("""blocks => blocks.map(b => [
        b.dataset.blockHash,
        b.classList.contains('finalized') ? 'finalized'
          : b.classList.contains('notarized') ? 'notarized' : 'proposed',
        b.querySelector('text.name').textContent])""")
    return {h: (status, int(name.lstrip("b"))) for h, status, name in blocks}


def page_has_caught_up(page: Page, server: LiveServer) -> bool:
    """The page draws every block the server knows in its window, as far along."""
    shown = drawn(page)
    if not shown:
        return False
    low = min(epoch for _, epoch in shown.values())
    for block in server.get("api/snapshot")["blocks"]:
        if not block["known"] or (block["epoch"] or 0) < low:
            continue
        status = shown.get(block["hash"], ("missing", 0))[0]
        if (status == "missing" or (block["finalized_by"] and status != "finalized")
                or (block["notarized_by"] and status == "proposed")):
            return False
    return True


def newest_epoch(page: Page) -> int:
    return max((epoch for _, epoch in drawn(page).values()), default=0)


def newest_epoch_at(server: LiveServer) -> int:
    blocks = server.get("api/snapshot")["blocks"]
    return max((b["epoch"] for b in blocks if b["epoch"] is not None), default=0)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server = start_server(Path(tmp_path_factory.mktemp("teaching")))
    try:
        yield server
    finally:
        stop_server(server)


# --- pause, step and resume from the keyboard ---------------------------------


def test_keyboard_pauses_steps_exactly_one_epoch_and_resumes(
        page: Page, lab: LiveServer) -> None:
    running(lab)
    open_page(page, lab)
    page.keyboard.press("?")
    expect(page.locator("#shortcuts")).to_be_visible()
    expect(page.locator("#shortcuts")).to_contain_text("step one epoch")
    page.keyboard.press("Escape")
    expect(page.locator("#shortcuts")).to_be_hidden()
    # Focus left on the dialog's hidden button would swallow the next space.
    assert page.evaluate("document.activeElement.closest('#shortcuts') === null")

    page.keyboard.press("Space")
    expect(page.locator("#clock-left")).to_have_text("paused", timeout=TIMEOUT_MS)
    paused = lab.state()["epoch"]

    def nodes_in(epoch: int) -> bool:
        snap = lab.get("api/snapshot")
        # Epoch `epoch`'s block notarized: every running node got that far.
        done = any(b["epoch"] == epoch and b["notarized_by"] for b in snap["blocks"])
        epochs = [n["epoch"] for n in snap["nodes"] if n["status"] == "running"]
        return done and min(epochs) == epoch and snap["epoch"] >= epoch

    for steps in (1, 2):
        page.keyboard.press("ArrowRight")
        expect(page.locator("#clock-epoch")).to_have_text(str(paused + steps),
                                                          timeout=TIMEOUT_MS)
        wait_for(lambda s=steps: nodes_in(paused + s), 30,
                 f"every node in epoch {paused + steps} with its block notarized")
        snap = lab.get("api/snapshot")
        # Exactly one epoch per step: nobody went further.
        assert max(n["epoch"] for n in snap["nodes"]) == paused + steps
        assert lab.state()["epoch"] == paused + steps

    page.keyboard.press("Space")
    expect(page.locator("#clock-left")).to_have_text(re.compile(r"s left$"),
                                                     timeout=TIMEOUT_MS)
    wait_for(lambda: lab.state()["epoch"] > paused + 3, 30, "epochs to run again")


# --- time travel --------------------------------------------------------------


def test_scrubbing_back_shows_an_earlier_tree_and_live_the_current_one(
        page: Page, lab: LiveServer) -> None:
    running(lab)
    open_page(page, lab)
    at_connect = lab.state()["epoch"]
    # Let the run go on while this page watches, so the timeline has a past.
    expect(page.locator("#tree .block.finalized").first).to_be_visible(
        timeout=TIMEOUT_MS)
    wait_for(lambda: any(epoch > at_connect + 4 and status == "finalized"
                         for status, epoch in drawn(page).values()),
             30, "blocks finalized after the page connected")
    api_post(lab, "api/clock", {"action": "pause"})  # a still picture to compare
    expect(page.locator("#clock-left")).to_have_text("paused", timeout=TIMEOUT_MS)
    # Events already on their way still arrive after "paused" shows; the tree's
    # window follows the newest epoch, so compare only once the page has them.
    paused = lab.state()["epoch"]
    expect(page.locator("#clock-epoch")).to_have_text(str(paused), timeout=TIMEOUT_MS)
    wait_for(lambda: newest_epoch(page) == newest_epoch_at(lab)
             and page_has_caught_up(page, lab), 30,
             "the page drawing every block the paused cluster has")
    live = drawn(page)
    newest = max(live, key=lambda h: live[h][1])

    page.locator("#timeline-range").press("Home")
    expect(page.locator("#timeline-at")).to_have_text(re.compile(r"^epoch \d+ at "))
    expect(page.locator(f"#tree .block[data-block-hash='{newest}']")).to_have_count(
        0, timeout=TIMEOUT_MS)
    earlier = drawn(page)
    assert len(earlier) < len(live)
    assert all(epoch <= at_connect + 1 for _, epoch in earlier.values())
    expect(page.locator("#timeline")).to_have_class(re.compile(r"\bpast\b"))

    page.get_by_role("button", name="Live", exact=True).click()
    expect(page.locator("#timeline-at")).to_have_text("live")
    expect(page.locator(f"#tree .block[data-block-hash='{newest}']")).to_have_count(
        1, timeout=TIMEOUT_MS)
    assert set(tree_blocks(page)) >= set(live)
    api_post(lab, "api/clock", {"action": "resume"})


# --- network faults from the page ---------------------------------------------


def test_a_clicked_link_gets_a_delay_and_the_asynchrony_knob_works(
        page: Page, lab: LiveServer) -> None:
    running(lab)
    open_page(page, lab)
    page.locator("#network line.link-hit[data-link='1-2']").click(force=True)
    form = page.locator("#link-form")
    expect(form.locator("select[name=from]")).to_have_value("1")
    expect(form.locator("select[name=to]")).to_have_value("2")
    form.locator("input[name=delay_ms]").fill("400")
    form.get_by_role("button", name="Set on the link").click()
    expect(page.locator("#network line.link.slow")).to_have_count(1, timeout=TIMEOUT_MS)
    links = lab.get("api/snapshot")["faults"]["links"]
    assert {(link["from"], link["to"], link["delay_ms"]) for link in links} == {
        (1, 2, 400.0), (2, 1, 400.0)}

    knob = page.locator("#asynchrony")
    knob.check()
    wait_for(lambda: lab.get("api/snapshot")["faults"]["asynchrony"], 10,
             "asynchrony on")
    knob.uncheck()
    wait_for(lambda: not lab.get("api/snapshot")["faults"]["asynchrony"], 10,
             "asynchrony released")
    expect(page.locator("#faults-error")).to_have_text("")


def test_a_partition_stops_the_minority_and_healing_catches_it_up(
        page: Page, lab: LiveServer) -> None:
    running(lab)
    open_page(page, lab)
    minority, majority = [1, 2], [3, 4, 5]
    form = page.locator("#partition-form")
    for node in minority:
        form.locator(f"select[name=n{node}]").select_option("B")
    for node in majority:
        form.locator(f"select[name=n{node}]").select_option("A")
    form.get_by_role("button", name="Partition", exact=True).click()
    expect(page.locator("#network line.link.cut")).to_have_count(6, timeout=TIMEOUT_MS)
    assert lab.get("api/snapshot")["faults"]["groups"] == [[3, 4, 5], [1, 2]]

    # Let what was in flight at the cut arrive, then watch a stretch in which
    # the majority finalizes several blocks: the minority finalizes none.
    start = max(heights(lab, majority))
    wait_for(lambda: min(heights(lab, majority)) >= start + 3, 30,
             "the majority to go on finalizing")
    stuck = heights(lab, minority)
    later = max(heights(lab, majority))
    wait_for(lambda: min(heights(lab, majority)) >= later + 4, 30,
             "the majority to finalize four more blocks")
    assert heights(lab, minority) == stuck
    assert max(stuck) < min(heights(lab, majority))

    page.get_by_role("button", name="Heal", exact=True).click()
    expect(page.locator("#network line.link.cut")).to_have_count(0, timeout=TIMEOUT_MS)
    target = max(heights(lab, majority))
    wait_for(lambda: min(heights(lab, minority)) >= target, 30,
             "the minority to catch up after healing")


def test_the_session_is_saved_as_a_scenario_file(page: Page, lab: LiveServer,
                                                 tmp_path: Path) -> None:
    open_page(page, lab)
    page.locator("#save-scenario summary").click()
    form = page.locator("#save-scenario-form")
    form.locator("input[name=name]").fill("Minority cut off")
    form.locator("input[name=description]").fill("Two nodes alone, then healed.")
    with page.expect_download() as download:
        form.get_by_role("button", name="Save the session").click()
    assert download.value.suggested_filename == "minority-cut-off.json"
    path = tmp_path / "saved.json"
    download.value.save_as(path)
    scenario = load(path)
    assert scenario.name == "Minority cut off"
    actions = [s["action"] for s in scenario.steps]
    assert {"delay", "asynchrony", "partition", "heal"} <= set(actions)
    partition = next(s for s in scenario.steps if s["action"] == "partition")
    assert partition["groups"] == [[3, 4, 5], [1, 2]]


# --- record, export, replay ---------------------------------------------------


def test_an_exported_run_reopens_in_replay_with_the_same_final_tree(
        page: Page, lab: LiveServer, tmp_path: Path) -> None:
    running(lab)
    open_page(page, lab)
    expect(page.locator("#tree .block.finalized").first).to_be_visible(
        timeout=TIMEOUT_MS)
    api_post(lab, "api/clock", {"action": "pause"})
    expect(page.locator("#clock-left")).to_have_text("paused", timeout=TIMEOUT_MS)
    # Paused: once every node is in the paused epoch and its block is
    # notarized everywhere, the nodes have nothing left to do.
    paused = lab.state()["epoch"]

    def settled() -> bool:
        snap = lab.get("api/snapshot")
        return all(n["epoch"] == paused for n in snap["nodes"]) and any(
            b["epoch"] == paused and len(b["notarized_by"]) == 5
            for b in snap["blocks"])
    wait_for(settled, 30, "every node done with the paused epoch")
    # The page may still be folding events the server already has.
    wait_for(lambda: page_has_caught_up(page, lab), 30,
             "the page drawing what the server knows")

    def export() -> tuple[dict[str, str], Path] | None:
        before = tree_blocks(page)
        with page.expect_download() as download:
            page.locator("#run-export").click()
        path = tmp_path / download.value.suggested_filename
        download.value.save_as(path)
        return (before, path) if tree_blocks(page) == before else None
    final_tree, recording = wait_for(export, 20, "an export of a still tree")
    assert "finalized" in final_tree.values()
    header, events = read_recording(recording)
    assert header["config"]["nodes"] == 5 and events

    (tmp_path / "replay").mkdir()
    replay = start_server(tmp_path / "replay", "--replay", str(recording))
    try:
        state = replay.state()
        assert state["mode"] == "replay"
        assert all(n["pid"] is None for n in state["nodes"])  # no process runs
        open_page(page, replay)
        expect(page.locator("#timeline-at")).to_have_text(re.compile("the end$"),
                                                          timeout=TIMEOUT_MS)
        wait_for(lambda: tree_blocks(page) == final_tree, 10,
                 "the replay's tree to be the run's final tree")
        # The replay has the whole run: back to its start, no block yet.
        page.locator("#timeline-range").press("Home")
        expect(page.locator("#tree .block")).to_have_count(0, timeout=TIMEOUT_MS)
        status, reply = api_post(replay, "api/nodes/1/crash", None)
        assert status == 409 and "replay" in reply["error"]
    finally:
        stop_server(replay)

    # The same file opened from the page of the running server.
    open_page(page, lab)
    page.locator("#replay-file").set_input_files(recording)
    expect(page.locator("#timeline-at")).to_have_text(
        re.compile(r"^replay of .*: the end$"), timeout=TIMEOUT_MS)
    wait_for(lambda: tree_blocks(page) == final_tree, 10, "the same tree again")
    assert lab.state()["mode"] == "replay"


# --- the fork demonstration preset --------------------------------------------


def test_the_confusion_preset_forks_then_finalizes_one_chain(
        page: Page, lab: LiveServer) -> None:
    open_page(page, lab)
    page.locator("#scenario-form select").select_option("confusion")
    page.get_by_role("button", name="Play", exact=True).click()
    expect(page.locator("#scenario-about")).to_contain_text("Forks that converge",
                                                            timeout=TIMEOUT_MS)
    parents: dict[str, str] = {}

    def parent(block_hash: str) -> str | None:
        """The block's parent; None for a block of the run the page just left."""
        if block_hash not in parents:
            try:
                parents[block_hash] = lab.get(f"api/blocks/{block_hash}")["parent"]
            except urllib.error.HTTPError as exc:
                if exc.code != 404:
                    raise
                return None
        return parents[block_hash]

    def fork_on_screen() -> bool:
        notarized = [h for h, s in tree_blocks(page).items() if s != "proposed"]
        seen = [p for p in map(parent, notarized) if p is not None]
        return len(seen) != len(set(seen))

    # At Δ = 0.5 s (the file's) the period is epochs 6 to 9: about 10 s in.
    wait_for(fork_on_screen, 40, "two notarized blocks with one parent in the tree")

    def one_final_chain_after_the_period() -> bool:
        return any(status == "finalized" and epoch >= 13
                   for status, epoch in drawn(page).values())

    wait_for(one_final_chain_after_the_period, 40, "a block of epoch 13+ finalized")
    final = [h for h, s in tree_blocks(page).items() if s == "finalized"]
    final_parents = [p for p in map(parent, final) if p is not None]
    assert len(final_parents) == len(set(final_parents))  # a chain, not a tree
    assert lab.state()["safety"]["ok"]


# --- presenter and viewers ----------------------------------------------------


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server = start_server(Path(tmp_path_factory.mktemp("presenter")),
                          "--presenter-token", TOKEN)
    try:
        yield server
    finally:
        stop_server(server)


def test_a_viewer_without_the_token_cannot_crash_a_node(page: Page,
                                                       guarded: LiveServer) -> None:
    open_page(page, guarded)
    expect(page.locator("#role")).to_have_text("viewer")
    pid = guarded.node(1)["pid"]
    page.locator("#network [data-node-id='1']").click()
    page.get_by_role("button", name="Crash", exact=True).click()
    expect(page.locator("#insp-error")).to_have_text(
        "this page is a viewer: controls need the presenter token (the server "
        "printed it when it started)", timeout=TIMEOUT_MS)
    assert guarded.node(1)["status"] == "running" and pid_alive(pid)
    status, reply = api_post(guarded, "api/nodes/1/crash", None)
    assert status == 403 and "X-Presenter-Token" in reply["error"]


def test_viewers_follow_the_presenters_scrubbing_unless_detached(
        page: Page, guarded: LiveServer) -> None:
    browser = page.context.browser
    viewer, follower = browser.new_page(), browser.new_page()
    try:
        open_page(page, guarded, f"?token={TOKEN}")
        expect(page.locator("#role")).to_have_text("presenter")
        assert "token" not in page.url  # taken out of the address bar
        open_page(viewer, guarded)
        expect(viewer.locator("#role")).to_have_text("viewer")
        expect(viewer.locator("#follow-label")).to_be_visible()
        at_start = guarded.state()["epoch"]
        wait_for(lambda: guarded.state()["epoch"] >= at_start + 4, 30,
                 "a few epochs watched by both pages")

        page.locator("#timeline-range").press("Home")
        expect(viewer.locator("#timeline-at")).to_have_text(
            re.compile(r"^epoch \d+ at "), timeout=TIMEOUT_MS)
        page.get_by_role("button", name="Live", exact=True).click()
        expect(viewer.locator("#timeline-at")).to_have_text("live", timeout=TIMEOUT_MS)

        open_page(follower, guarded)
        viewer.locator("#timeline-follow").uncheck()  # detached
        page.locator("#timeline-range").press("Home")
        # The move reached every viewer: the one that follows shows it...
        expect(follower.locator("#timeline-at")).to_have_text(
            re.compile(r"^epoch \d+ at "), timeout=TIMEOUT_MS)
        # ...and the detached one stayed where it was.
        expect(viewer.locator("#timeline-at")).to_have_text("live")
        # The presenter may steer the cluster.
        page.locator("#network [data-node-id='2']").click()
        page.get_by_role("button", name="Crash", exact=True).click()
        wait_for(lambda: guarded.node(2)["status"] == "crashed", 30, "node 2 crashed")
    finally:
        viewer.close()
        follower.close()
