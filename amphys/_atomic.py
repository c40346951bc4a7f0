"""Atomic file writes shared by every amphys writer (data, reports, figures, checkpoints, models).

The file is written next to its destination under a temporary name (keeping the suffix, for writers that sniff
it), fsynced, given the usual umask permissions, renamed onto the destination, and the directory is fsynced: a
reader or a crash never sees a half-written file, and an existing file is replaced only by a complete one.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from amphys.errors import FileFormatError

__all__ = ["atomic_path"]


def _fsync(path) -> None:
    """fsync a file or a directory; silently nothing where the platform does not allow it (e.g. directories on
    Windows)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class atomic_path:
    """Context manager giving a temporary path next to ``path``; on success it is renamed onto ``path``.

    >>> with atomic_path("out.h5") as tmp:   # doctest: +SKIP
    ...     write_something(tmp)
    """

    def __init__(self, path):
        self.path = Path(path)

    def __enter__(self) -> Path:
        directory = self.path.parent if str(self.path.parent) else Path(".")
        if not directory.is_dir():
            raise FileFormatError(f"output {str(self.path)!r}: directory {str(directory)!r} does not exist")
        if not os.access(directory, os.W_OK):
            raise FileFormatError(f"output {str(self.path)!r}: directory {str(directory)!r} is not writable")
        fd, name = tempfile.mkstemp(prefix=f".{self.path.stem}.", suffix=f".tmp{self.path.suffix}", dir=directory)
        os.close(fd)
        self.tmp = Path(name)
        return self.tmp

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(self.tmp, 0o666 & ~umask)  # mkstemp creates 0600; give the file the usual permissions
            _fsync(self.tmp)  # the bytes are on disk before the rename makes them the file
            os.replace(self.tmp, self.path)
            _fsync(self.tmp.parent)  # and the rename itself is durable
        else:
            self.tmp.unlink(missing_ok=True)
        return False
