"""Webhooks in: what each arr sends (`arr`) and the envelope made of it (`envelope`)."""
