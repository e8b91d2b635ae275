"""Catching up with the arrs' history: the poller (`poller`), replaying missed imports
(`replay`) and the ledger of what was received (`ledger`).
"""
