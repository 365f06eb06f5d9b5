"""`auditor clean`: act on a stored run's mail findings, with nothing ever lost.

plan (which messages, from the findings) -> journal (planned, saved, done, verified, in the
store) -> backup (whole messages in local mbox files, fsync'd per batch) -> apply (the
server change: UID MOVE, or UID COPY + \\Deleted + UID EXPUNGE) -> undo (APPEND back, never
twice). Re-running the same command resumes an interrupted run (resume).
"""

from auditor.clean.plan import Plan, Selection, build_plan

__all__ = ["Plan", "Selection", "build_plan"]
