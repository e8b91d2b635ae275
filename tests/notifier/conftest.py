"""Fixtures of the notifier tests, for every module here (`notifier_stack.py`)."""

from tests.notifier.notifier_stack import sink, start_notifier

__all__ = ["sink", "start_notifier"]
