"""A JSON file that several processes update, one transaction at a time.

Each update reloads the file under an exclusive lock, applies one change and writes
the file atomically, so that two processes sharing a work dir (a seeds run beside a
search) each add their results without erasing the other's: no merging, no stale copy.
"""
import json
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from ..utils import atomic_write_json, file_lock


class JsonStore:
    """One JSON object on disk (``{}`` until the first update).

    Args:
        path: the file; ``<path>.lock`` beside it serialises the updates.
    """

    def __init__(self, path):
        self.path = Path(path)

    def read(self) -> dict:
        """The stored object (a fresh copy)."""
        return json.loads(self.path.read_text()) if self.path.is_file() else {}

    def exists(self) -> bool:
        """Whether the file has been written yet."""
        return self.path.is_file()

    @contextmanager
    def update(self) -> Iterator[dict]:
        """``with store.update() as state: state[...] = ...``: the object as stored now,
        written back when the block ends without an error."""
        with file_lock(self.path.with_name(self.path.name + '.lock')):
            state = self.read()
            yield state
            atomic_write_json(self.path, state, indent=1)
