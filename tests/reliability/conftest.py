"""Fixtures of the reliability campaign: real clusters as in tests/cluster."""

from tests.cluster.conftest import make_cluster  # noqa: F401  (a fixture)
