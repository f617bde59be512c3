"""The page draws each batch at the frame after it arrives.

The lag a viewer sees is the lag to the page's model plus the wait for the
next render of the views. The page throttles its renders
(``RENDER_EVERY_MS`` in ``frontend/main.js``); if that throttle were longer
than the server's batch period, batches would pile up between renders and
the screen would trail the model by up to the whole throttle (120 ms did:
181 ms at p99 to the screen against 71 ms to the model, n = 7,
docs/PERFORMANCE.md). This test ties the two constants together.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path

from backend.web.dashboard import Dashboard

MAIN_JS = Path(__file__).resolve().parents[2] / "frontend" / "main.js"


def render_every_ms() -> float:
    found = re.search(r"^const RENDER_EVERY_MS = (\d+(?:\.\d+)?);",
                      MAIN_JS.read_text(), re.MULTILINE)
    assert found, "frontend/main.js no longer defines RENDER_EVERY_MS"
    return float(found.group(1))


def test_the_page_renders_at_least_as_often_as_batches_arrive() -> None:
    default = inspect.signature(Dashboard).parameters["batch_interval_s"].default
    assert render_every_ms() < default * 1000


def test_the_page_still_throttles_its_renders() -> None:
    # Rendering the views at every animation frame (about 16.7 ms) would
    # spend the frame budget on views that did not change.
    assert render_every_ms() > 1000 / 60
