"""The files in which gunicorn's workers keep their Prometheus samples (PROMETHEUS_MULTIPROC_DIR).

Each worker writes its own files. When a worker exits (max_requests recycles one every few
thousand requests) its counters and histograms are folded into one archive file per type and its
files deleted, so a master that runs for weeks keeps a few files, not two per worker it ever
started, and a scrape reads only those. A lock keeps a scrape from reading halfway through a fold.
No Django here: the gunicorn master runs it.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from prometheus_client.mmap_dict import MmapedDict

FOLDED_TYPES = ("counter", "histogram")
LOCK_FILE = "samples.lock"  # not *.db, which the collector reads


@contextmanager
def samples_locked(directory: str, *, exclusive: bool) -> Iterator[None]:
    with open(Path(directory) / LOCK_FILE, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def worker_samples_fold(directory: str, pid: int) -> None:
    """Add an exited worker's samples to the archive files, then delete its files."""
    with samples_locked(directory, exclusive=True):
        for kind in FOLDED_TYPES:
            exited = Path(directory) / f"{kind}_{pid}.db"
            if not exited.exists():
                continue
            archive = MmapedDict(str(Path(directory) / f"{kind}_archive.db"))
            try:
                for key, value, timestamp, _ in MmapedDict.read_all_values_from_file(str(exited)):
                    archived, _ = archive.read_value(key)
                    archive.write_value(key, archived + value, timestamp)
            finally:
                archive.close()
            exited.unlink()
