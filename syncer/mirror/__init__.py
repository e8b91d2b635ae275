"""Mirroring what the arr changed at the destination: renames, replacements of upgrades and
removals into the recycle bin (`actions`, `rename`, `replace`, `removals`), moves at the
destination (`destination`), the bin (`recycle_bin`) and the circuit breaker (`breaker`).
"""
