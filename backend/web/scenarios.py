"""Playing a scenario file on the dashboard's cluster, step by step as epochs pass.

The file format and the steps themselves belong to ``backend.cluster.scenario``
(the headless runner plays the same files); this module only turns a file into
dashboard settings and remembers which steps have been played.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

#: Scenario config keys that are cluster settings (``epochs`` is headless-only:
#: the dashboard runs until it is stopped).
SETTING_KEYS = ("nodes", "delta", "leader", "echo", "seed", "tx_rate",
                "confusion_start", "confusion_duration")
#: The preset scenarios the page offers.
SCENARIO_DIR = Path(__file__).resolve().parents[2] / "scenarios"
_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")


@dataclass
class LoadedScenario:
    name: str
    description: str
    settings: dict[str, Any]
    steps: list[dict[str, Any]]


def load_scenario(path: str | Path) -> LoadedScenario:
    """Read and check a scenario file; ``ValueError`` names what is wrong."""
    from backend.cluster.scenario import load

    scenario = load(path)
    settings = {k: v for k, v in scenario.config.items() if k in SETTING_KEYS}
    return LoadedScenario(scenario.name, scenario.description, settings,
                          list(scenario.steps))


def list_scenarios(directory: Path = SCENARIO_DIR) -> list[dict[str, Any]]:
    """The scenario files of ``directory`` that load, as id, name, description."""
    found = []
    for path in sorted(directory.glob("*.json")):
        if not _ID.fullmatch(path.stem):
            continue
        try:
            scenario = load_scenario(path)
        except ValueError as exc:
            log.warning("scenario %s skipped: %s", path.name, exc)
            continue
        found.append({"id": path.stem, "name": scenario.name,
                      "description": scenario.description,
                      "steps": len(scenario.steps)})
    return found


def find_scenario(scenario_id: str, directory: Path = SCENARIO_DIR
                  ) -> LoadedScenario | None:
    """The scenario with this id (a file name without ``.json``), or None.

    The id is checked against a strict pattern before it becomes a path, so a
    request cannot name a file outside the scenario folder.
    """
    if not _ID.fullmatch(scenario_id):
        return None
    path = directory / f"{scenario_id}.json"
    if not path.is_file():
        return None
    return load_scenario(path)


@dataclass
class ScenarioPlayer:
    """The steps of one scenario and how many of them have been played."""

    steps: list[dict[str, Any]]
    name: str = "scenario"
    done: int = 0
    lines: list[str] = field(default_factory=list)

    def due(self, epoch: int) -> list[dict[str, Any]]:
        """Steps whose epoch has come and that were not played yet, in order."""
        due = [s for s in self.steps[self.done:] if s["epoch"] <= epoch]
        self.done += len(due)
        return due

    @property
    def finished(self) -> bool:
        return self.done >= len(self.steps)


def play_step(cluster: Any, step: dict[str, Any]) -> str:
    """Carry out one step; return the line that tells what happened."""
    from backend.cluster.scenario import apply_step

    try:
        return apply_step(cluster, step)
    except Exception as exc:
        # A step can fail for a reason of the moment (the node is already
        # down); the scenario goes on and the log says so.
        if not isinstance(getattr(exc, "status", None), int):
            raise
        return f"step '{step['action']}' at epoch {step['epoch']} failed: {exc}"
