"""Public file I/O: ``amphys.io.read`` and ``amphys.io.write`` (docs/theory.md#data-schema)."""

from amphys.data.io import open_dataset, read, write

__all__ = ["read", "write", "open_dataset"]
