"""Files and functions of the package stay small enough to read (docs/architecture.md#conventions).

A module of ``amphys/`` has at most :data:`MAX_FILE_LINES` lines and a function (or method) at most
:data:`MAX_FUNCTION_LINES`, counted from its ``def`` line to its last line, docstring included. A longer function
that should stay whole says why on its ``def`` line: ``def run(...):  # long: one pass over the data``.

    python tests/test_code_size.py      # lists every file and function over the limits, with their lengths
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "amphys"
MAX_FILE_LINES = 400
MAX_FUNCTION_LINES = 80
_REASON = re.compile(r"#\s*long:\s*\S")


def long_files(limit: int = MAX_FILE_LINES) -> list[tuple[str, int]]:
    """``[(path, lines)]`` of the modules over ``limit`` lines."""
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        n = len(path.read_text().splitlines())
        if n > limit:
            out.append((str(path.relative_to(ROOT)), n))
    return out


def long_functions(limit: int = MAX_FUNCTION_LINES) -> list[tuple[str, str, int]]:
    """``[(path:line, name, lines)]`` of the functions over ``limit`` lines whose ``def`` line gives no
    ``# long: <reason>``."""
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        text = path.read_text()
        lines = text.splitlines()
        for node in ast.walk(ast.parse(text, filename=str(path))):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            n = node.end_lineno - node.lineno + 1
            if n > limit and not _REASON.search(lines[node.lineno - 1]):
                out.append((f"{path.relative_to(ROOT)}:{node.lineno}", node.name, n))
    return out


def test_no_file_over_the_limit():
    files = long_files()
    assert not files, f"split these modules by concept (at most {MAX_FILE_LINES} lines): {files}"


def test_no_function_over_the_limit_without_a_reason():
    functions = long_functions()
    assert not functions, (f"split these functions (at most {MAX_FUNCTION_LINES} lines) or give the reason on the "
                           f"def line ('# long: ...'): {functions}")


def test_the_audit_sees_long_code(tmp_path, monkeypatch):
    """The checks can fail: a long module and a long function are found, a reasoned one is not."""
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_FUNCTION_LINES))
    (tmp_path / "big.py").write_text(f"def f():\n{body}\n\n\ndef g():  # long: one table\n{body}\n"
                                     + "\n" * MAX_FILE_LINES)
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", tmp_path)
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    assert long_files() == [("big.py", 2 * MAX_FUNCTION_LINES + 4 + MAX_FILE_LINES)]
    assert long_functions() == [("big.py:1", "f", MAX_FUNCTION_LINES + 1)]


if __name__ == "__main__":
    for name, n in long_files():
        print(f"file     {name}: {n} lines (limit {MAX_FILE_LINES})")
    for where, name, n in long_functions():
        print(f"function {where} {name}: {n} lines (limit {MAX_FUNCTION_LINES})")
