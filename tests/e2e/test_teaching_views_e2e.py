"""The teaching views in headless Chromium against a real cluster of node processes.

Narration names the rule behind what just happened; the page speaks English
or Portuguese; the vote grid shows a crashed node; a block says why it is, or
is not yet, final; one node's own tree, the charts and the glossary are drawn.
The session's server is shared with the other browser tests, so each test
asserts relative to what it finds, and puts back any node it crashes.
"""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.conftest import wait_for
from tests.e2e.conftest import LiveServer

TIMEOUT_MS = 30_000
WHY_EN = re.compile(r"b\d+ (is final on|is not final|is notarized but not final"
                    r"|is notarized and so is its child|is on an abandoned fork)")
WHY_PT = re.compile(r"b\d+ (é final em|não é final|está notarizado mas não é final"
                    r"|está notarizado e o seu filho|está num ramo abandonado)")
RULE_NAMES_EN = re.compile(r"^(Leader|Propose|Vote|Notarize|Finalize|Echo) rule$"
                           r"|^(Unknown parent|Future epoch|Rejected|Transactions|Crash"
                           r"|Crash-recovery|Fork demonstration|Safety)$")


def open_dashboard(page: Page, server: LiveServer) -> None:
    page.goto(server.url)
    expect(page.locator("#connection")).to_have_text("live", timeout=TIMEOUT_MS)


def test_a_caption_names_the_rule_behind_what_happened(
        page: Page, live_server: LiveServer) -> None:
    open_dashboard(page, live_server)
    now = page.locator("#caption-now")
    expect(now).to_have_attribute("data-rule", re.compile(r"^[a-z-]+$"),
                                  timeout=TIMEOUT_MS)
    expect(page.locator("#caption-rule")).to_have_text(RULE_NAMES_EN)
    expect(page.locator("#caption-text")).to_have_text(re.compile(r"\bn\d|\bb\d|epoch"))
    # The captions take turns: a few seconds later more than one was shown.
    expect(page.locator("#caption-history li").first).to_be_visible(timeout=TIMEOUT_MS)


def test_portuguese_changes_headings_and_captions_and_is_remembered(
        page: Page, live_server: LiveServer) -> None:
    open_dashboard(page, live_server)
    expect(page.locator("#tree-title")).to_have_text("Block tree")
    expect(page.locator("#caption-now")).to_have_attribute("data-rule", re.compile("."),
                                                           timeout=TIMEOUT_MS)

    page.locator("#lang-picker").select_option("pt")
    expect(page.locator("#tree-title")).to_have_text("Árvore de blocos")
    expect(page.locator("#log-title")).to_have_text("Registo de eventos")
    expect(page.locator("#glossary-title")).to_have_text("Glossário")
    expect(page.locator("#connection")).to_have_text("ligado")
    expect(page.locator("html")).to_have_attribute("lang", "pt-PT")
    expect(page.locator("#caption-rule")).to_have_text(re.compile(
        r"^(Regra d[ao] \w+|Pai desconhecido|Época futura|Rejeitado|Transações|Falha"
        r"|Falha e recuperação|Demonstração de bifurcação|Segurança)"))
    expect(page.locator("#caption-text")).to_have_text(re.compile(
        r"\b(época|vota|votos|notarizad[oa]|final|líder|propõe|estende|recebe)\b"))
    expect(page.locator("#event-log li").last).to_have_text(re.compile(
        r"época|notarizado|finalizad|propôs|líder"), timeout=TIMEOUT_MS)
    expect(page.locator("#glossary [data-term='fork'] dt")).to_have_text("bifurcação")

    page.reload()
    expect(page.locator("#connection")).to_have_text("ligado", timeout=TIMEOUT_MS)
    expect(page.locator("#lang-picker")).to_have_value("pt")
    expect(page.locator("#tree-title")).to_have_text("Árvore de blocos")

    page.locator("#lang-picker").select_option("en")
    expect(page.locator("#tree-title")).to_have_text("Block tree")
    expect(page.get_by_role("button", name="Crash", exact=True)).to_be_visible()


def test_the_vote_grid_shows_a_crashed_node(page: Page,
                                            live_server: LiveServer) -> None:
    open_dashboard(page, live_server)
    wait_for(lambda: live_server.node(4)["status"] == "running", 30,
             "node 4 to run before the test")
    grid = page.locator("#votegrid")
    expect(grid.locator("g.cell[data-kind='voted']").first).to_be_visible(
        timeout=TIMEOUT_MS)
    expect(grid.locator("g.cell[data-node='4'][data-kind='crashed']")).to_have_count(0)

    page.locator("#network [data-node-id='4']").click()
    page.get_by_role("button", name="Crash", exact=True).click()
    try:
        crashed = grid.locator("g.cell[data-node='4'][data-kind='crashed']")
        expect(crashed.first).to_be_visible(timeout=TIMEOUT_MS)
        # Down for epoch after epoch, while the others go on voting.
        wait_for(lambda: crashed.count() >= 3, 30, "three crashed epochs for n4")
        expect(crashed.first.locator("title")).to_have_text(
            re.compile(r"^n4, epoch \d+: crashed$"))
        expect(page.locator("#caption")).to_contain_text("n4 crashed",
                                                         timeout=TIMEOUT_MS)
        # Its own tree stays as it was when it stopped.
        expect(page.locator("#nodetree-node")).to_have_value("4")
        expect(page.locator("#nodetree-summary")).to_contain_text("n4 is down")
    finally:
        page.get_by_role("button", name="Restart", exact=True).click()
        wait_for(lambda: live_server.node(4)["status"] == "running", 30,
                 "node 4 to run again")


def test_a_block_says_why_it_is_or_is_not_final(page: Page,
                                                live_server: LiveServer) -> None:
    open_dashboard(page, live_server)
    why = page.locator("#block-why")
    expect(why).to_have_text("Click a block to see why it is, or is not yet, final.")

    # The newest blocks are in view (the tree follows the latest epoch).
    final = page.locator("#tree .block.finalized").last
    expect(final).to_be_visible(timeout=TIMEOUT_MS)
    final.hover()
    expect(why).to_have_text(re.compile(r"^b\d+ is final on n"))
    page.mouse.move(0, 0)
    expect(why).to_have_text("Click a block to see why it is, or is not yet, final.")

    # The newest block is seldom final yet: it says which notarization is
    # missing (or, if it got there, that it is final).
    newest = page.locator("#tree .block").last
    newest.click()
    expect(why).to_have_text(WHY_EN)
    expect(newest.locator("title")).to_have_text(WHY_EN)
    page.locator("#lang-picker").select_option("pt")
    expect(why).to_have_text(WHY_PT)


def test_quorum_meters_one_nodes_tree_and_charts_are_drawn(
        page: Page, live_server: LiveServer) -> None:
    open_dashboard(page, live_server)
    blocks = page.locator("#tree g.block")
    expect(blocks.first).to_be_visible(timeout=TIMEOUT_MS)
    # A meter on every block; drawn only while the block waits for its quorum.
    assert page.locator("#tree g.block g.meter").count() >= 1
    shown = page.evaluate("""() => [...document.querySelectorAll('#tree g.block')]
        .filter((g) => getComputedStyle(g.querySelector('g.meter')).display !== 'none')
        .every((g) => !g.classList.contains('notarized'))""")
    assert shown

    page.locator("#nodetree-node").select_option("1")
    expect(page.locator("#nodetree g.block").first).to_be_visible(timeout=TIMEOUT_MS)
    expect(page.locator("#nodetree g.block.finalized").first).to_be_visible(
        timeout=TIMEOUT_MS)
    expect(page.locator("#nodetree-summary")).to_contain_text(
        re.compile(r"^n1 holds \d+ blocks of the last 30 epochs"))
    expect(page.locator("#insp-title")).to_have_text("Node n1")

    expect(page.locator("#chart-latency rect.bar").first).to_be_visible(
        timeout=TIMEOUT_MS)
    expect(page.locator("#chart-messages path.measured")).to_have_count(
        1, timeout=TIMEOUT_MS)
    expect(page.locator("#chart-messages g.ref.echo text")).to_have_text(
        "n³ − n (echo): 120")
    expect(page.locator("#glossary div.term")).to_have_count(12)
