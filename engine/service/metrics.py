"""``GET /metrics``: Prometheus text exposition (format 0.0.4), written by hand
because a handful of lines does not justify a client library dependency."""

from __future__ import annotations

from engine.service.notify import Notifier
from engine.service.workers import WorkerPool


def prometheus_text(counts: dict[str, int], pool: WorkerPool, notifier: Notifier) -> str:
    stats = pool.stats
    lines = [
        "# HELP snapshots_tasks Tasks in the database, by state.",
        "# TYPE snapshots_tasks gauge",
        *(f'snapshots_tasks{{state="{state}"}} {n}' for state, n in counts.items()),
        "# HELP snapshots_queue_depth Tasks waiting for a worker.",
        "# TYPE snapshots_queue_depth gauge",
        f"snapshots_queue_depth {counts['queued']}",
        "# HELP snapshots_workers Size of the worker pool.",
        "# TYPE snapshots_workers gauge",
        f"snapshots_workers {pool.size}",
        "# HELP snapshots_workers_busy Workers running a job now.",
        "# TYPE snapshots_workers_busy gauge",
        f"snapshots_workers_busy {stats.running}",
        "# HELP snapshots_jobs_total Jobs run by this process (ended, either way).",
        "# TYPE snapshots_jobs_total counter",
        f"snapshots_jobs_total {stats.jobs_total}",
        "# HELP snapshots_jobs_failed_total Jobs that ended in failure.",
        "# TYPE snapshots_jobs_failed_total counter",
        f"snapshots_jobs_failed_total {stats.jobs_failed}",
        "# HELP snapshots_job_seconds Wall time of jobs run by this process.",
        "# TYPE snapshots_job_seconds summary",
        f"snapshots_job_seconds_sum {stats.job_seconds_sum:.6f}",
        f"snapshots_job_seconds_count {stats.jobs_total}",
        "# HELP snapshots_notifications_total Webhook POST attempts.",
        "# TYPE snapshots_notifications_total counter",
        f"snapshots_notifications_total {notifier.sent}",
        "# HELP snapshots_notifications_failed_total Webhook attempts that failed (non-2xx or transport).",
        "# TYPE snapshots_notifications_failed_total counter",
        f"snapshots_notifications_failed_total {notifier.failed}",
    ]
    return "\n".join(lines) + "\n"
