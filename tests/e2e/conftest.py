"""Fixtures of the end-to-end tests: a control plane with KWOK's nodes and the operator, or a real node."""

from support.cluster import control_plane, operator
from support.node.fixtures import real_node

__all__ = ["control_plane", "operator", "real_node"]
