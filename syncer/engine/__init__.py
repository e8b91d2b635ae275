"""The workers: they take due jobs from the schedule, run each attempt (a coalesced copy or a
mirror action) and hand its result to the job's lifecycle (`lifecycle`), the only code that
changes a job.
"""
