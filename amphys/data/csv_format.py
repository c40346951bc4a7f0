"""CSV reader for measured snapshots in long form: one row per sample, a time column and coordinate columns.

>>> ds = amphys.io.read("tracers.csv")                                     # doctest: +SKIP
>>> ds = amphys.io.read("tracers.csv", time="t_s", columns=["x", "y", "z"], units_x="um", units_t="s")
...                                                                        # doctest: +SKIP

Guessing (docs/guide-measured-data.md): a column named ``time`` or ``t`` (any case) is the time; a column named
``weight`` or ``weights`` holds sample weights; every other numeric column is a coordinate. Text columns (labels)
and unnamed columns (a row index written by a spreadsheet or by pandas) are ignored. Units may sit in the header
(``x [um]``, ``time (s)``) or be given with ``units_x=``/``units_t=`` (which win). What was chosen is logged (logger
``amphys.data``, level INFO) and stored in the attrs ``import`` (JSON) and ``import_message``.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xarray as xr

from amphys.data._import import COMMON_OPTIONS, Mapping, check_options, finish_import, unit_or_default
from amphys.errors import FileFormatError, InputError, describe

__all__ = ["read_csv"]

OPTIONS = ("time", "columns", "weight", "delimiter", "decimal", "comment") + COMMON_OPTIONS
TIME_NAMES = ("time", "t")
WEIGHT_NAMES = ("weight", "weights")
MISSING = {"", "na", "n/a", "nan", "null", "none", "-", "?"}
_DELIMITERS = (",", ";", "\t", "|")
_DELIM_NAMES = {",": "','", ";": "';'", "\t": "a tab", "|": "'|'", None: "whitespace"}
_UNIT_RE = re.compile(r"^\s*(.*?)\s*[\[(]\s*([^\])]*?)\s*[\])]\s*$")
_DECIMAL_COMMA_RE = re.compile(r"^[-+]?\d+,\d+$")


def _split_unit(header: str) -> tuple[str, str | None]:
    """``"x [um]"`` -> ``("x", "um")``; ``"x"`` -> ``("x", None)``."""
    m = _UNIT_RE.match(header)
    if m and m.group(1):
        return m.group(1), (m.group(2) or None)
    return header.strip(), None


def _read_text(path: Path) -> str:
    src = repr(str(path))
    raw = path.read_bytes()
    if not raw.strip():
        raise FileFormatError(f"{src}: file is empty; expected a header line naming the columns (e.g. "
                              "'time,x,y,z') followed by one row per sample")
    if b"\x00" in raw[:4096]:
        hint = " (an Excel workbook? export it as CSV)" if raw[:2] == b"PK" else ""
        raise FileFormatError(f"{src}: binary file, not CSV text{hint}")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("latin-1")  # spreadsheets on Windows write cp1252/latin-1 headers such as "x (µm)"


def _guess_delimiter(src: str, header: str, rows: list[tuple[int, str]]) -> str | None:
    """The delimiter giving the header and the first data rows the same (> 1) number of fields."""
    sample = rows[:20]

    def consistent(delim):
        n = len(_split_line(header, delim))
        return n > 1 and all(len(_split_line(line, delim)) == n for _, line in sample)

    ranked = sorted(_DELIMITERS, key=lambda c: -header.count(c))
    for delim in [c for c in ranked if header.count(c)] + [None]:
        if consistent(delim):
            return delim
    best = ranked[0] if header.count(ranked[0]) else None
    if len(_split_line(header, best)) <= 1:
        raise FileFormatError(f"{src}: the header {header.strip()!r} has a single column; expected a time column "
                              "and coordinate columns separated by commas (e.g. 'time,x,y,z'); if another "
                              "character separates them, pass delimiter='...' (CLI --delimiter)")
    n = len(_split_line(header, best))
    for lineno, line in sample:
        if len(_split_line(line, best)) != n:
            other = [c for c in _DELIMITERS if c != best and line.count(c)]
            hint = (f"; the data rows seem to use {_DELIM_NAMES[other[0]]} instead: use one delimiter throughout "
                    f"or pass delimiter={other[0]!r}") if other else ""
            raise FileFormatError(f"{src}: line {lineno} has {len(_split_line(line, best))} fields but the header "
                                  f"has {n} (delimiter guessed from the header: {_DELIM_NAMES[best]}){hint}")
    return best  # pragma: no cover  (consistent(best) would have held)


def _split_line(line: str, delim: str | None) -> list[str]:
    if delim is None:
        return line.split()
    return next(csv.reader(io.StringIO(line), delimiter=delim), [])


def _parse_column(values: list[str], decimal: str) -> tuple[np.ndarray, int | None]:
    """Floats (missing -> NaN) and the index of the first cell that is not a number (None if all are)."""
    cells = [v.strip() for v in values]
    if decimal != ".":
        cells = [c.replace(decimal, ".") for c in cells]
    cells = ["nan" if c.lower() in MISSING else c for c in cells]
    try:
        return np.array(cells, dtype=np.float64), None
    except ValueError:
        pass
    out = np.empty(len(cells))
    first_bad = None
    for i, c in enumerate(cells):
        try:
            out[i] = float(c)
        except ValueError:
            out[i] = np.nan
            if first_bad is None:
                first_bad = i
    return out, first_bad


@dataclass
class _Settings:
    """The reader options of :func:`read_csv`, checked; ``delimiter`` None means whitespace."""

    time: str | None
    columns: list[str] | None
    weight: str | None
    delimiter: str | None
    explicit_delimiter: bool
    decimal: str
    comment: str


def _settings(options: dict) -> _Settings:
    columns = options.get("columns")
    delimiter = options.get("delimiter")
    decimal = options.get("decimal", ".")
    if isinstance(columns, str):
        columns = [c for c in columns.split(",") if c.strip()]
    if columns is not None and (not columns or not all(isinstance(c, str) for c in columns)):
        raise InputError(f"columns: expected a list of column names, got {describe(columns)}")
    if delimiter is not None and delimiter not in ("whitespace", " ") and len(delimiter) != 1:
        raise InputError(f"delimiter: expected one character (or 'whitespace'), got {delimiter!r}")
    if decimal not in (".", ","):
        raise InputError(f"decimal: expected '.' or ',', got {describe(decimal)}")
    if decimal == "," and delimiter == ",":
        raise InputError("decimal=',' needs another delimiter (e.g. delimiter=';'): commas cannot separate both")
    explicit = delimiter is not None
    if delimiter in ("whitespace", " "):
        delimiter = None
    return _Settings(options.get("time"), None if columns is None else list(columns), options.get("weight"),
                     delimiter, explicit, decimal, options.get("comment", "#"))


class _Table:
    """The cells of a CSV file by column, with the header's names and units, and typed access to a column."""

    def __init__(self, path: Path, settings: _Settings):
        self.src = repr(str(path))
        self.decimal = settings.decimal
        text = _read_text(path)
        comment = settings.comment
        lines = [(k, line) for k, line in enumerate(text.splitlines(), 1)
                 if line.strip() and not (comment and line.lstrip().startswith(comment))]
        if not lines:
            raise FileFormatError(f"{self.src}: file has only comments or blank lines; expected a header line naming "
                                  "the columns (e.g. 'time,x,y,z') followed by one row per sample")
        (header_no, header_line), rows = lines[0], lines[1:]
        self.explicit_delimiter = settings.explicit_delimiter
        self.delimiter = settings.delimiter
        if not self.explicit_delimiter:
            self.delimiter = _guess_delimiter(self.src, header_line, rows)
        self.header = self._header(header_no, header_line, rows)
        names, units = zip(*(_split_unit(h) for h in self.header))
        self.names, self.units = list(names), list(units)
        self._check_distinct()
        self.cells, self.row_lines = self._cells(rows)
        self._parsed: dict[int, tuple[np.ndarray, int | None]] = {}

    def _header(self, header_no: int, header_line: str, rows) -> list[str]:
        header = [h.strip() for h in _split_line(header_line, self.delimiter)]
        if len(header) > 1 and not header[-1]:
            header = header[:-1]  # a trailing delimiter
        if self.explicit_delimiter and len(header) == 1:
            other = [c for c in _DELIMITERS if c in header[0]]
            hint = f"; it contains {_DELIM_NAMES[other[0]]}: pass delimiter={other[0]!r}" if other else ""
            raise FileFormatError(f"{self.src}: with delimiter {_DELIM_NAMES[self.delimiter]} the header "
                                  f"{header_line.strip()!r} is a single column{hint}")
        if all(_is_number(h) for h in header if h):
            raise FileFormatError(f"{self.src}: line {header_no} {header_line.strip()!r} looks like data, not a "
                                  "header; add a first line naming the columns, e.g. 'time,x,y,z'")
        if not rows:
            raise FileFormatError(f"{self.src}: the header ({', '.join(header)}) has no data rows below it")
        return header

    def _check_distinct(self) -> None:
        seen: dict[str, int] = {}
        for k, name in enumerate(self.names):
            if name and name in seen:
                raise FileFormatError(f"{self.src}: column name {name!r} appears twice (columns {seen[name] + 1} "
                                      f"and {k + 1}); give every column a distinct name")
            seen[name] = k

    def _cells(self, rows) -> tuple[list[list[str]], np.ndarray]:
        names = self.names
        cells: list[list[str]] = [[] for _ in names]
        row_lines = []
        for lineno, line in rows:
            fields = _split_line(line, self.delimiter)
            if len(fields) == len(names) + 1 and not fields[-1].strip():
                fields = fields[:-1]  # a trailing delimiter
            if len(fields) != len(names):
                raise FileFormatError(
                    f"{self.src}: line {lineno} has {len(fields)} fields but the header has {len(names)} "
                    f"({', '.join(map(repr, names))}) with delimiter {_DELIM_NAMES[self.delimiter]}; check that "
                    "line for a missing or extra value" + ("" if self.explicit_delimiter else
                                                           ", or pass delimiter='...'"))
            for c, value in zip(cells, fields):
                c.append(value)
            row_lines.append(lineno)
        return cells, np.asarray(row_lines)

    def locate(self, i: int) -> str:
        return f"line {int(self.row_lines[i])}"

    def find(self, name, role: str) -> int:
        return _find(self.src, self.names, name, role, self.header)

    def parsed(self, k: int) -> tuple[np.ndarray, int | None]:
        """Column ``k`` as floats and the index of its first non-number (None if all are numbers)."""
        if k not in self._parsed:
            self._parsed[k] = _parse_column(self.cells[k], self.decimal)
        return self._parsed[k]

    def column(self, name: str, role: str) -> np.ndarray:
        """The numbers of column ``name``; a non-number is an error naming the cell and its line."""
        k = self.find(name, role)
        values, bad = self.parsed(k)
        if bad is not None:
            raise FileFormatError(f"{self.src}: {role} column {self.names[k]!r} is not numeric: "
                                  f"{self.cells[k][bad].strip()!r} at {self.locate(bad)}"
                                  f"{_decimal_hint(self.cells[k][bad])}")
        return values


def read_csv(path: Path, **options) -> xr.Dataset:
    """Read a long-form CSV of snapshots (see the module docstring for the guessing rules).

    Options: ``time`` (column name), ``columns`` (coordinate column names, in order), ``weight`` (column name),
    ``units_x``, ``units_t``, ``delimiter`` (default: guessed among ``,`` ``;`` tab ``|`` and whitespace),
    ``decimal`` (``","`` for decimal commas), ``comment`` (lines starting with it are skipped, default ``#``),
    ``dropna`` (drop rows with a missing coordinate instead of refusing them), ``dim_names``.
    """
    path = Path(path)
    check_options(path, "CSV", options, OPTIONS)
    settings = _settings(options)
    table = _Table(path, settings)
    notes: list[str] = []
    time = _time_name(table, settings.time, notes)
    t = table.column(time, "time")
    k_time = table.find(time, "time")
    weight = _weight_name(table, settings, notes)
    w = table.column(weight, "weight") if weight is not None else None
    k_weight = table.find(weight, "weight") if weight is not None else None
    if settings.columns is None:
        columns = _guess_coordinates(table, time, (k_time, k_weight), notes)
    else:
        columns = settings.columns
        for c in columns:
            if table.find(c, "coordinate") in (k_time, k_weight):
                raise InputError(f"columns: {c!r} is already the time or weight column")
    x = np.column_stack([table.column(c, "coordinate") for c in columns])
    units_x, units_t = _units(table, options, k_time, columns)
    mapping = Mapping("csv", time, columns, weight, units_x, units_t, notes,
                      extra={"delimiter": "whitespace" if table.delimiter is None else table.delimiter})
    return finish_import(path, t, x, mapping, weight=w, dim_names=options.get("dim_names") or columns,
                         locate=table.locate, dropna=bool(options.get("dropna", False)))


def _time_name(table: _Table, time: str | None, notes: list[str]) -> str:
    """The time column: the one given, or the only column named ``time`` or ``t``."""
    if time is not None:
        return time
    names = table.names
    candidates = [n for n in names if n.lower() in TIME_NAMES]
    if not candidates:
        raise FileFormatError(f"{table.src}: no time column: no column is named 'time' or 't' (found "
                              f"{', '.join(map(repr, names))}); name it with time='NAME' (CLI --time-column)")
    if len(candidates) > 1:
        raise FileFormatError(f"{table.src}: both {candidates[0]!r} and {candidates[1]!r} could be the time "
                              "column; choose one with time='NAME' (CLI --time-column)")
    notes.append(f"time column {candidates[0]!r} guessed from its name")
    return candidates[0]


def _weight_name(table: _Table, settings: _Settings, notes: list[str]) -> str | None:
    """The weight column: the one given, else (when coordinates are not listed) a column named ``weight(s)``."""
    if settings.weight is not None or settings.columns is not None:
        return settings.weight
    found = [n for n in table.names if n.lower() in WEIGHT_NAMES]
    if not found:
        return None
    notes.append(f"column {found[0]!r} used as sample weights (pass columns=[...] to make it a coordinate)")
    return found[0]


def _guess_coordinates(table: _Table, time: str, taken, notes: list[str]) -> list[str]:
    """Every other numeric column; text columns and unnamed columns (a row index) are left out and noted."""
    columns, ignored = [], []
    for k, name in enumerate(table.names):
        if k in taken:
            continue
        if not name:
            ignored.append(f"unnamed column {k + 1} (a row index?)")
            continue
        cells = table.cells[k]
        _, bad = table.parsed(k)
        if bad is not None:
            first = next((i for i, c in enumerate(cells) if c.strip().lower() not in MISSING), bad)
            if first == bad and not _decimal_hint(cells[bad]):
                ignored.append(f"text column {name!r}")
                continue
            raise FileFormatError(f"{table.src}: column {name!r} is not numeric: {cells[bad].strip()!r} at "
                                  f"{table.locate(bad)}{_decimal_hint(cells[bad])}; fix the value, or list the "
                                  "coordinate columns with columns=[...] (CLI --columns) to leave it out")
        columns.append(name)
    if not columns:
        raise FileFormatError(f"{table.src}: no numeric coordinate column besides time {time!r} (columns: "
                              f"{', '.join(map(repr, table.names))}); expected e.g. 'time,x,y,z'")
    notes.append("every other numeric column taken as a coordinate")
    if ignored:
        notes.append("ignored " + ", ".join(ignored))
    return columns


def _units(table: _Table, options: dict, k_time: int, columns: list[str]) -> tuple[str, str]:
    """(units_x, units_t): the options win, then the header's ``x [um]``; one unit for all coordinates."""
    units_x = unit_or_default(options.get("units_x"))
    units_t = unit_or_default(options.get("units_t"))
    if units_t is None:
        units_t = table.units[k_time] or "1"
    if units_x is None:
        header_ux = {c: table.units[table.find(c, "coordinate")] for c in columns}
        distinct = {u for u in header_ux.values() if u}
        if len(distinct) > 1:
            raise FileFormatError(f"{table.src}: coordinate columns have different units in the header "
                                  f"({', '.join(f'{c}: {u}' for c, u in header_ux.items())}); convert them to "
                                  "one unit (Action Matching measures distances across coordinates), or pass "
                                  "units_x='...' if the header is wrong")
        units_x = distinct.pop() if distinct else "1"
    return units_x, units_t


def _find(src: str, names: list[str], name: str, role: str, raw: list[str] | None = None) -> int:
    if not isinstance(name, str):
        raise InputError(f"{role}: expected a column name, got {describe(name)}")
    if name in names:
        return names.index(name)
    if raw is not None and name.strip() in raw:
        return raw.index(name.strip())
    lowered = [n.lower() for n in names]
    if name.lower() in lowered:
        return lowered.index(name.lower())
    import difflib

    close = difflib.get_close_matches(name, names, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise FileFormatError(f"{src}: no {role} column named {name!r}; the columns are "
                          f"{', '.join(map(repr, names))}{hint}")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _decimal_hint(cell: str) -> str:
    if _DECIMAL_COMMA_RE.match(cell.strip()):
        return " (a decimal comma? pass decimal=',' (CLI --decimal ,))"
    return ""
