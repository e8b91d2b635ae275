"""Fixtures of the several-syncers tests (`stack.py`), and the notifier's."""

from tests.notifier.notifier_stack import sink, start_notifier
from tests.syncers.stack import start_named

__all__ = ["sink", "start_named", "start_notifier"]
