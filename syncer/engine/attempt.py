"""One attempt of a mirror action, as the engine runs it (`syncer.mirror.attempt.Attempt`)."""

from __future__ import annotations

import time
from functools import partial

from arrsync.settings import Mapping
from syncer.copying.classify import classify
from syncer.copying.files import FileSet, problem_with
from syncer.copying.rsync import RsyncResult
from syncer.copying.runs import RsyncRunner
from syncer.copying.space import remove_partials
from syncer.engine.lifecycle import Lifecycle
from syncer.jobs.job import Job
from syncer.jobs.outcome import AttemptEnded
from syncer.report.status import StatusReporter


class MirrorAttempt:
    def __init__(self, job: Job, mapping: Mapping, lifecycle: Lifecycle, runner: RsyncRunner,
                 reporter: StatusReporter, *, dry_run: bool) -> None:
        self.job = job
        self.duration_s: float | None = None
        self._mapping = mapping
        self._lifecycle = lifecycle
        self._runner = runner
        self._reporter = reporter
        self._dry_run = dry_run

    def begin(self) -> None:
        (self.job,) = self._lifecycle.begin([self.job])

    def copy(self, command: list[str], files: FileSet, *, into: str | None = None
             ) -> RsyncResult:
        began = time.monotonic()
        try:
            result = self._runner.copy(command, files.entries, lambda: None,
                                       self._reporter.throttled_progress(self.job),
                                       standby=False)
        finally:
            self.duration_s = round(time.monotonic() - began, 3)
        checked = into is None and not self._dry_run
        outcome = classify(result, stopping=self._runner.stopping,
                           check=partial(problem_with, files) if checked else None,
                           remove_partials=partial(remove_partials, files, self._mapping.dest,
                                                   into),
                           relatives=files.entries)
        if outcome is not None:
            raise AttemptEnded(outcome)
        assert result is not None  # classify says Stopped for a run that never began
        return result
