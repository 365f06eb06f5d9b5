"""The fact store: one SQLite file holding every run's facts and findings."""

from auditor.store.db import default_store_path, open_readonly, open_store
from auditor.store.store import Store

__all__ = ["Store", "default_store_path", "open_readonly", "open_store"]
