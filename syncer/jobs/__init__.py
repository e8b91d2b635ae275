"""What a job is and where it is kept: the job (`job`), how an attempt ends (`outcome`), the
durable store (`store`), the store's health (`health`) and the in-memory run queue
(`schedule`).
"""
