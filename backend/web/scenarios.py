"""Playing a scenario file on the dashboard's cluster, step by step as epochs pass.

The file format and the steps themselves belong to ``backend.cluster.scenario``
(the headless runner plays the same files); this module only turns a file into
dashboard settings and remembers which steps have been played.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: Scenario config keys that are cluster settings (``epochs`` is headless-only:
#: the dashboard runs until it is stopped).
SETTING_KEYS = ("nodes", "delta", "leader", "echo", "seed", "tx_rate")


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
