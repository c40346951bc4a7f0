"""Bad-input suite (docs/theory.md#data-schema, docs/api.md, docs/cli.md): every wrong input gets an amphys error
that names the argument or file, what was expected and what came; the CLI exits non-zero with one line (no
traceback unless --debug); no input file is ever modified (every file of the fixture folder is hashed before and
after each case).

The cases are in ``tests/_bad_input_cases.py`` (:data:`CASES`), which is also the source of the table in
``docs/reliability.md`` (``python docs/gen_reliability.py``); ``test_reliability_page_lists_every_case`` fails when
the page misses a case.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
from pathlib import Path

import pytest

from amphys.errors import AmphysError

sys.path.insert(0, str(Path(__file__).parent))
from _bad_input_cases import CASES, make_files, run_api, run_cli  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def _hashes(folder: Path) -> dict:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield make_files(tmp_path_factory.mktemp("inputs"))
    torch.set_num_threads(threads)


def test_enough_cases():
    assert len(CASES) >= 30
    assert len({c.id for c in CASES}) == len(CASES)
    assert sum(c.where == "cli" for c in CASES) >= 10


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case, files, tmp_path):
    folder = Path(files["good.h5"]).parent
    before = _hashes(folder)
    if case.where == "api":
        exc = run_api(case, files)
        assert isinstance(exc, case.error), f"{case.id}: got {type(exc).__name__}: {exc}"
        assert isinstance(exc, AmphysError)
        message = str(exc)
    else:
        rc, out, err = run_cli(case, files, tmp_path)
        assert rc != 0, out + err
        assert "Traceback" not in err
        lines = [line for line in err.splitlines() if line.strip()]
        if case.error is SystemExit:  # argparse: usage line(s), then one error line
            assert rc == 2 and lines[-1].startswith("amphys ") and ": error: " in lines[-1]
        else:
            assert rc == 2 and len(lines) == 1 and lines[0].startswith("amphys: error: "), err
        message = lines[-1]
        assert not any(tmp_path.iterdir()), "a failed command left files behind"
    for pattern in case.expect:
        assert re.search(pattern, message), f"{case.id}: {pattern!r} not in {message!r}"
    assert _hashes(folder) == before, f"{case.id} modified an input file"
    assert not files["marker"].exists()


def test_pickle_payload_really_is_one(files, tmp_path):
    """The payload file runs code when unpickled without ``weights_only`` (so refusing it means something)."""
    import torch

    marker = files["marker"]
    assert not marker.exists()
    try:
        torch.load(files["payload.pt"], weights_only=False)
        assert marker.is_dir()
    finally:
        if marker.exists():
            marker.rmdir()


def test_cli_debug_shows_the_traceback(files, tmp_path):
    """One line without --debug, the traceback with it (a real subprocess, as a user runs it)."""
    argv = [sys.executable, "-m", "amphys", "fit", str(files["truncated.h5"]), "-o", str(tmp_path / "m.pt")]
    plain = subprocess.run(argv, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert plain.returncode == 2 and "Traceback" not in plain.stderr
    assert plain.stderr.strip().count("\n") == 0 and "truncated.h5" in plain.stderr
    debug = subprocess.run(argv[:3] + ["--debug"] + argv[3:], capture_output=True, text=True, timeout=120,
                           cwd=tmp_path)
    assert debug.returncode != 0 and "Traceback" in debug.stderr and "FileFormatError" in debug.stderr


def test_reliability_page_lists_every_case():
    page = (ROOT / "docs" / "reliability.md").read_text()
    missing = [c.id for c in CASES if f"`{c.id}`" not in page]
    assert not missing, f"docs/reliability.md misses {missing}; run python docs/gen_reliability.py"
