"""Alerts: what a component publishes on `<base>/<component>/alert` when a person must act.

Job problems travel as job status; an alert is about the component itself: an event the
broker would not take (set aside in the bridge's dead-letter table), a job store that cannot
be written. One message when the problem starts (`active: true`), one when it is over.
The notifier forwards them; `/health` and the retained `syncer/state` show the current state.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field


class Problem(StrEnum):
    DEAD_LETTER = "dead_letter"  # the bridge set an event aside: the broker would not take it
    SPOOL = "spool"              # the bridge's spool cannot be read or written
    STORE = "store"              # the syncer's job store cannot be written: intake paused
    RECYCLE_BIN = "recycle_bin"  # a recycle bin that is a link or leaves its destination
    STALL = "stall"              # a copy made no progress: its rsync was ended (or abandoned)
    NOTIFY = "notify"            # a notification could not be delivered to one of the URLs


class Alert(BaseModel):
    component: str = Field(description="bridge, syncer or notifier.")
    problem: Problem = Field(description="What kind of problem (the Problem values).")
    active: bool = Field(description="True when the problem starts, False when it is over.")
    message: str = Field(description="What happened and what to do, for a person.")
    at: str = Field(description="When, ISO 8601 UTC.")
    syncer: str | None = Field(None, description="A named syncer's name (`syncer.name`).")
