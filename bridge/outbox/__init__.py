"""Envelopes out: the durable spool (`spool`), the relay that publishes it in order (`relay`),
dead letters (`deadletter`) and alerts (`alerts`).
"""
