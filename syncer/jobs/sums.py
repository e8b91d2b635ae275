"""Running sums kept beside the jobs: the copies of each local day and mapping, and the
jobs in each state.

The statistics show what was copied per day for 30 days, and the retained summary how many
jobs are in each state; counting the jobs for that at every publish costs more as the store
fills (100,000 jobs kept after an `audit --fix`). Triggers keep `daily_copies` and
`job_states` in step with `jobs` in the same transaction as every write: a copy or replace
job stored as succeeded adds itself to the day of its `updated_at` (local time, as SQLite's
`localtime` has it: the C library's, as Python's), and takes itself off when it changes
again or is pruned; a job counts in its state. So the sums are always exactly those of the
jobs kept, and a read is a few rows however many jobs there are. A store from before a table
gets it back-filled from its jobs once, when it is opened.
"""

from __future__ import annotations

import sqlite3

from arrsync.sqlitefile import transaction

# What the statistics count as a copy: succeeded copy and replace jobs (renames and
# recycling move files, they copy no data), on the local day of their last change.
_ADD = """
    INSERT INTO daily_copies (day, mapping, count, bytes, seconds)
    VALUES (date(NEW.updated_at, 'unixepoch', 'localtime'), NEW.mapping, 1, NEW.bytes,
            coalesce(NEW.duration_s, 0))
    ON CONFLICT (day, mapping) DO UPDATE SET count = count + 1,
        bytes = bytes + excluded.bytes, seconds = seconds + excluded.seconds;
"""
_TAKE = """
    UPDATE daily_copies SET count = count - 1, bytes = bytes - OLD.bytes,
        seconds = seconds - coalesce(OLD.duration_s, 0)
    WHERE day = date(OLD.updated_at, 'unixepoch', 'localtime') AND mapping = OLD.mapping;
    DELETE FROM daily_copies WHERE count <= 0
        AND day = date(OLD.updated_at, 'unixepoch', 'localtime') AND mapping = OLD.mapping;
"""
_NEW = "NEW.state = 'succeeded' AND NEW.action IN ('copy', 'replace')"
_OLD = "OLD.state = 'succeeded' AND OLD.action IN ('copy', 'replace')"
SCHEMA = (
    """CREATE TABLE daily_copies (
        day     TEXT NOT NULL,     -- local date, YYYY-MM-DD
        mapping TEXT NOT NULL,
        count   INTEGER NOT NULL,  -- succeeded copy and replace jobs
        bytes   INTEGER NOT NULL,
        seconds REAL NOT NULL,     -- their rsync time
        PRIMARY KEY (day, mapping)
    ) WITHOUT ROWID""",
    "CREATE TRIGGER daily_copies_insert AFTER INSERT ON jobs WHEN " + _NEW
    + " BEGIN " + _ADD + " END",
    "CREATE TRIGGER daily_copies_update_old AFTER UPDATE ON jobs WHEN " + _OLD
    + " BEGIN " + _TAKE + " END",
    "CREATE TRIGGER daily_copies_update_new AFTER UPDATE ON jobs WHEN " + _NEW
    + " BEGIN " + _ADD + " END",
    "CREATE TRIGGER daily_copies_delete AFTER DELETE ON jobs WHEN " + _OLD
    + " BEGIN " + _TAKE + " END",
)
BACKFILL = """
INSERT INTO daily_copies (day, mapping, count, bytes, seconds)
SELECT date(updated_at, 'unixepoch', 'localtime') AS day, mapping, count(*), sum(bytes),
       total(duration_s)
FROM jobs WHERE state = 'succeeded' AND action IN ('copy', 'replace') GROUP BY day, mapping
"""
STATES = (
    """CREATE TABLE job_states (
        state TEXT PRIMARY KEY,
        count INTEGER NOT NULL
    ) WITHOUT ROWID""",
    """CREATE TRIGGER job_states_insert AFTER INSERT ON jobs BEGIN
        INSERT INTO job_states (state, count) VALUES (NEW.state, 1)
        ON CONFLICT (state) DO UPDATE SET count = count + 1; END""",
    """CREATE TRIGGER job_states_update AFTER UPDATE OF state ON jobs
        WHEN OLD.state IS NOT NEW.state BEGIN
        UPDATE job_states SET count = count - 1 WHERE state = OLD.state;
        INSERT INTO job_states (state, count) VALUES (NEW.state, 1)
        ON CONFLICT (state) DO UPDATE SET count = count + 1; END""",
    """CREATE TRIGGER job_states_delete AFTER DELETE ON jobs BEGIN
        UPDATE job_states SET count = count - 1 WHERE state = OLD.state; END""",
    "INSERT INTO job_states (state, count) SELECT state, count(*) FROM jobs GROUP BY state",
)
COUNTS = "SELECT state, count FROM job_states WHERE count > 0"
SINCE = ("SELECT day, mapping, count, bytes, seconds FROM daily_copies "
         "WHERE day >= date(?, 'unixepoch', 'localtime') AND count > 0")


def ensure_sums(db: sqlite3.Connection) -> None:
    """Create each table with its triggers, and fill it from the jobs, once (in one
    transaction: two processes opening an old store back-fill it once)."""
    for table, statements in (("daily_copies", (*SCHEMA, BACKFILL)), ("job_states", STATES)):
        exists = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"
        if db.execute(exists, (table,)).fetchone():
            continue
        with transaction(db, "BEGIN IMMEDIATE"):
            if db.execute(exists, (table,)).fetchone():
                continue
            for statement in statements:
                db.execute(statement)
