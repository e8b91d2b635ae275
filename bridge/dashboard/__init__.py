"""The status page at the bridge's `GET /`: built from what the MQTT topics carry."""

from bridge.dashboard.board import StatusBoard
from bridge.dashboard.views import register_dashboard

__all__ = ["StatusBoard", "register_dashboard"]
