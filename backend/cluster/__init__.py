"""The supervisor of node processes, scenarios, audits and the headless runner."""

from .supervisor import Cluster, ClusterConfig, ClusterError

__all__ = ["Cluster", "ClusterConfig", "ClusterError"]
