"""The page never turns a string into markup.

Everything the page shows that came from outside (a scenario's name and
description, a node's log line, a transaction's fields, an opened recording)
reaches the DOM through ``textContent``, d3's ``.text()`` or an attribute,
never through an API that parses HTML. This test reads every script and
template the page is made of and fails on any such API, so a view that
starts using one is caught before a hostile string can reach it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

#: APIs that parse a string as HTML or run it as code.
MARKUP_SINKS = re.compile(
    r"\.innerHTML\b|\.outerHTML\b|\binsertAdjacentHTML\b|\bdocument\.write"
    r"|\bcreateContextualFragment\b|\bDOMParser\b|\.html\(|\beval\("
    r"|\bnew Function\(|\bsrcdoc\b"
)


def page_sources() -> list[Path]:
    """The project's own scripts and templates (vendored libraries left out)."""
    files = sorted((ROOT / "frontend").rglob("*.js"))
    files += sorted((ROOT / "templates").rglob("*.html"))
    return [f for f in files if "node_modules" not in f.parts]


def test_the_page_is_made_of_files_this_test_reads() -> None:
    names = {f.name for f in page_sources()}
    assert {"main.js", "index.html"} <= names


@pytest.mark.parametrize("source", page_sources(),
                         ids=lambda f: str(f.relative_to(ROOT)))
def test_no_script_of_the_page_writes_markup(source: Path) -> None:
    hits = [f"{source.name}:{number}: {line.strip()}"
            for number, line in enumerate(source.read_text().splitlines(), 1)
            if MARKUP_SINKS.search(line)]
    assert not hits, "markup written from a string:\n" + "\n".join(hits)


@pytest.mark.parametrize("line", [
    "el.innerHTML = name;",
    "node.insertAdjacentHTML('beforeend', s)",
    "d3.select('#log').html(text)",
    "document.write(x)",
    "eval(code)",
])
def test_the_check_recognises_each_sink(line: str) -> None:
    assert MARKUP_SINKS.search(line)


@pytest.mark.parametrize("line", [
    "el.textContent = name;",
    "sel.text((d) => d.name)",
    "const html = 1;  // a variable named html",
])
def test_the_check_leaves_text_writes_alone(line: str) -> None:
    assert not MARKUP_SINKS.search(line)
