"""`syncer:` the job store, rsync, retries and the path mappings."""

from __future__ import annotations

import posixpath
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from arrsync.settings.base import Section
from arrsync.topics import syncer_name_problem
from arrsync.units import is_within


class Mapping(Section):
    name: str = Field(description="A name people recognise, used in status messages.")
    arr_path: str = Field(description="The folder as the arr sees it (its container path).")
    source: str = Field(description="The same folder as this host sees it.")
    dest: str = Field(description="Where files are copied to.")
    require_mount: bool = Field(
        False,
        description="The destination must be on a mounted share: the mount at or above dest "
        "is not the root filesystem; else jobs wait.",
    )
    anchors: list[str] = Field(
        default_factory=list,
        description="Relative file names that must exist in both the source and the destination "
        "root before anything is copied (proof the shares are really mounted).",
    )
    rsync_extra_args: list[str] = Field(
        default_factory=list, description="Appended to rsync's arguments for this mapping only, "
        "after syncer.rsync_extra_args, e.g. ['--bwlimit=20m'] to slow 4K copies alone."
    )

    on_upgrade: Literal["keep", "recycle"] = Field(
        "recycle", description="An upgrade's replaced files: recycle moves their destination "
        "copies to the recycle bin (a same-name upgrade replaces the copy); keep leaves them."
    )
    on_rename: Literal["keep", "rename"] = Field(
        "rename", description="A rename in the arr: rename renames the destination copy (no "
        "data copied); keep leaves the old name."
    )
    on_delete: Literal["keep", "recycle"] = Field(
        "keep", description="A file, movie or series deleted in the arr: recycle moves the "
        "destination copy to the recycle bin; keep leaves it."
    )

    @field_validator("arr_path", "source", "dest")
    @classmethod
    def _absolute(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError("must be an absolute path")
        return posixpath.normpath(value).replace("//", "/")

    @field_validator("anchors")
    @classmethod
    def _relative(cls, value: list[str]) -> list[str]:
        for anchor in value:
            if anchor.startswith("/") or ".." in anchor.split("/"):
                raise ValueError("anchors are file names relative to source and dest roots")
        return value


DEFAULT_CLIENT_ID = "arrsync-syncer"


class SyncerSettings(Section):
    name: str | None = Field(
        None, description="Several syncers on one broker: each its own name (letters, digits, "
        "'-', '_'). Its availability, state, stats, alerts and audits move under "
        "`<base>/syncer/<name>/`, its statuses carry it, its client id defaults to "
        "`arrsync-syncer-<name>`. Unset: one syncer, topics as they always were."
    )
    state_path: Path = Field(Path("./data/syncer.db"), description="SQLite durable job store.")
    workers: int = Field(2, ge=1, le=32, description="rsync processes running at once.")
    dry_run: bool = Field(False, description="Run rsync with --dry-run: report, copy nothing.")
    max_attempts: int = Field(5, ge=1, le=100, description="Attempts before a job is failed.")
    retry_delay: float = Field(
        30, ge=0, description="Seconds before the second attempt; doubles for each later one."
    )
    retry_delay_max: float = Field(900, ge=0, description="Longest wait between two attempts.")
    rsync_extra_args: list[str] = Field(
        default_factory=list, description="Appended to rsync's arguments, e.g. ['--bwlimit=50m']."
    )
    rsync_path: str = Field("rsync", description="The rsync binary.")
    standby: bool = Field(
        True, description="Keep one rsync per mapping started and waiting for its list, so "
        "a copy begins without a spawn (it resolves source and dest only when it gets it).",
    )
    batch_max_files: int = Field(
        500, ge=1, le=100_000,
        description="Most files one rsync run copies: a free worker takes the due jobs of "
        "one mapping together, up to this many files.",
    )
    batch_max_bytes: int = Field(
        50 * 1024**3, ge=1,
        description="Most bytes one rsync run copies when it takes several jobs together "
        "(a single larger job still runs alone).",
    )
    sidecars: bool = Field(
        True, description="Also copy the sidecars named after a media file: subtitles, .nfo, "
        "artwork (Film.en.srt, Film.nfo, Film-poster.jpg)."
    )
    free_space_margin: int = Field(
        1_000_000_000, ge=0,
        description="Bytes that must stay free on the destination after a copy (1 GB)."
    )
    guard_interval: float = Field(
        30, gt=0, description="Seconds between checks of a destination that is not ready."
    )
    stall_timeout: float = Field(
        300, ge=0, description=(
        'Seconds a running copy may go without progress (a read blocked on a share whose '
        'server went away); then its rsync is ended, the attempt counts, the job is '
        'retried later and an alert goes out on `arrsync/syncer/alert` (`problem: '
        'stall`). A copy that cannot be ended (uninterruptible sleep on a dead hard '
        'mount) is left behind and reaped once it ends; it never holds a worker. Also '
        "rsync's own `--timeout`. `0`: off."
        ),
    )
    shutdown_grace: float = Field(
        30, ge=0, description="Seconds running rsyncs may finish after SIGTERM."
    )
    keep_finished_days: float = Field(
        30, gt=0, description="Finished jobs older than this are pruned from the store."
    )
    recycle_dir: str = Field(
        ".arrsync-recycle", description="Recycle bin folder under each destination root: a "
        "removed file is kept at `<dest>/<recycle_dir>/<YYYY-MM-DD>/<its path below dest>`."
    )
    recycle_days: float = Field(
        30, gt=0, description="Days a removed file stays in the recycle bin before the syncer "
        "empties it."
    )
    max_removals_per_hour: int = Field(
        20, ge=1, description="Circuit breaker: past this many removals (deletes mirrored) in "
        "an hour, removals wait for a person; copies go on."
    )
    client_id: str = Field(
        DEFAULT_CLIENT_ID, description="MQTT client id of the durable session; unique per "
        "syncer (with `name` set, `arrsync-syncer-<name>` unless given)."
    )
    mappings: list[Mapping] = Field(
        default_factory=list, description="Path mappings; the longest matching arr_path wins."
    )

    @field_validator("name")
    @classmethod
    def _one_topic_level(cls, value: str | None) -> str | None:
        if value is not None and (problem := syncer_name_problem(value)):
            raise ValueError(problem)
        return value

    @model_validator(mode="after")
    def _client_id_follows_the_name(self) -> SyncerSettings:
        if self.name and self.client_id == DEFAULT_CLIENT_ID:
            self.client_id = f"{DEFAULT_CLIENT_ID}-{self.name}"
        return self

    @field_validator("recycle_dir")
    @classmethod
    def _one_folder_name(cls, value: str) -> str:
        if not value or "/" in value or value in (".", "..") or "\0" in value:
            raise ValueError("must be one folder name, such as .arrsync-recycle")
        return value

    @model_validator(mode="after")
    def _mappings_do_not_collide(self) -> SyncerSettings:
        for field in ("name", "arr_path", "source"):
            seen: set[str] = set()
            for mapping in self.mappings:
                value = getattr(mapping, field)
                if value in seen:
                    raise ValueError(f"two mappings have the same {field} {value!r}")
                seen.add(value)
        for mapping in self.mappings:
            for other in self.mappings:
                if is_within(mapping.dest, other.source) or is_within(other.source, mapping.dest):
                    raise ValueError(
                        f"mapping {mapping.name!r}: dest {mapping.dest!r} overlaps the source "
                        f"of {other.name!r} ({other.source!r}); copies would feed themselves"
                    )
        return self
