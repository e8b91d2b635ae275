"""The spool gives the space of a drained backlog back to the disk: a real SQLite file that
held thousands of events gets small again once they are all delivered, not before."""

from __future__ import annotations

from pathlib import Path

from bridge.outbox.spool import Spool, SpooledEvent


def on_disk(path: Path) -> int:
    """The file and its WAL, as they take space."""
    wal = path.with_name(path.name + "-wal")
    return path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)


def test_the_spool_file_shrinks_once_a_large_backlog_is_delivered(tmp_path: Path) -> None:
    path = tmp_path / "spool.db"
    spool = Spool(path)
    body = "x" * 4000
    ids = [f"event-{n}" for n in range(3000)]
    for event_id in ids:  # a long broker outage
        spool.add(SpooledEvent(event_id, "arrsync/events/radarr/Download", body))
    full = on_disk(path)
    assert full > 12_000_000

    for start in range(0, 2990, 500):  # delivered in batches, ten still waiting
        spool.remove(ids[start:min(start + 500, 2990)])
    assert spool.count() == 10
    assert on_disk(path) > full // 2  # events still wait: the file keeps its pages

    spool.remove(ids[2990:])
    assert spool.count() == 0
    assert on_disk(path) < 200_000  # the drained backlog gave its space back
    spool.add(SpooledEvent("after", "arrsync/events/radarr/Download", body))  # still usable
    assert [event.id for _seq, event in spool.after(0, 10)] == ["after"]
    spool.close()


def test_a_few_events_delivered_do_not_compact_the_file(tmp_path: Path) -> None:
    path = tmp_path / "spool.db"
    spool = Spool(path)
    for n in range(300):
        spool.add(SpooledEvent(f"e{n}", "arrsync/events/radarr/Download", "y" * 1000))
    spool.remove([f"e{n}" for n in range(300)])
    assert spool.count() == 0
    with spool.reading() as reader:  # the few free pages stay for the next events
        assert reader.execute("PRAGMA freelist_count").fetchone()[0] > 0
    spool.close()
