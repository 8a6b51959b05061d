"""Control-plane fixtures for the operator's end-to-end tests."""

from k8s_env import control_plane, operator

__all__ = ["control_plane", "operator"]
