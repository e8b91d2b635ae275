"""The wire: the messages that pass between the processes, one pydantic model each.

They belong to no process: `event` (the envelope the bridge publishes), `job` (the status
the syncer publishes), `request` (what anyone asks of the syncer, and its answer), `alert`,
`audit` and `statistics`; `parse` reads wire JSON with its limits, `timestamps` writes the
one time format.
"""
