"""Control-plane fixtures for the operator's end-to-end tests."""

from support.cluster import control_plane, operator

__all__ = ["control_plane", "operator"]
