"""Every preset scenario runs headless and shows what it promises to show.

The presets are written at a classroom Δ; the tests run them five times
faster with the same steps, which the expectations must not depend on. The
fork demonstration runs at half its Δ: it needs the nodes' epochs to line up
well, which a busy two-core machine does not guarantee at 50 ms.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from backend.cluster.headless import main_from_args

ROOT = Path(__file__).resolve().parents[2]
PRESETS = sorted((ROOT / "scenarios").glob("*.json"))


class Args:
    def __init__(self, scenario: Path, report: Path) -> None:
        self.scenario = str(scenario)
        self.report = str(report)
        self.delta = 0.25 if scenario.stem == "confusion" else 0.1
        self.host = "127.0.0.1"
        self.nodes = self.epochs = self.leader = self.seed = self.tx_rate = None


@pytest.mark.parametrize("path", PRESETS, ids=lambda p: p.stem)
def test_preset_meets_its_expectations(path, tmp_path):
    report_path = tmp_path / "report.json"
    out = io.StringIO()
    code = main_from_args(Args(path, report_path), out=out)
    report = json.loads(report_path.read_text())
    assert report["safety"]["consistent"], out.getvalue()
    unmet = [e for e in report["expectations"] if not e["met"]]
    assert unmet == [], out.getvalue()
    assert code == 0
    assert report["expectations"] or path.stem == "tour"
