"""Batch mode: many snapshot jobs from a JSON-lines manifest, locally or on Dask.

>>> from engine.batch import run_batch
>>> summary = run_batch("jobs.jsonl", workers=2)          # doctest: +SKIP
>>> summary.exit_code, summary.results                     # doctest: +SKIP

The CLI is ``snapshots batch`` (:mod:`engine.batch.cli`); the per-item function,
the same everywhere, is :func:`engine.batch.worker.run_item`.
"""

from engine.batch.core import BatchSummary, SetupError, default_results_path, run_batch
from engine.batch.manifest import Entry, Job, ManifestFileError, ManifestLineError, item_key, read_manifest
from engine.batch.results import ResultsFile, ResultsFileError
from engine.batch.runners import DaskRunner, LocalRunner, SchedulerError
from engine.batch.worker import run_item

__all__ = [
    "run_batch",
    "BatchSummary",
    "SetupError",
    "default_results_path",
    "read_manifest",
    "item_key",
    "Entry",
    "Job",
    "ManifestFileError",
    "ManifestLineError",
    "ResultsFile",
    "ResultsFileError",
    "LocalRunner",
    "DaskRunner",
    "SchedulerError",
    "run_item",
]
