"""The recurring jobs: the guarded runner (`runner`), the jobs it runs and their triggers
(`jobs`), what `aai schedule status` reports (`status`) and the run-history pruning
(`cleanup`)."""

from aai_cli.services.scheduler.runner import DailyAt, Every, JobContext, JobScheduler, JobSpec
from aai_cli.services.scheduler.status import JobStatus, job_statuses, unhealthy

__all__ = [
    "DailyAt",
    "Every",
    "JobContext",
    "JobScheduler",
    "JobSpec",
    "JobStatus",
    "job_statuses",
    "unhealthy",
]
