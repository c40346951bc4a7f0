"""Package-level contracts: light import, public namespace, layering (SPEC §7.1, §10)."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import amphys

ROOT = Path(__file__).resolve().parents[1]


def test_import_is_light():
    code = ("import sys, amphys, amphys.io, amphys.systems, amphys.data; "
            "print(' '.join(m for m in ('torch', 'matplotlib') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_public_namespace():
    for name in ("systems", "io", "generate", "fit", "FitConfig", "load_model", "evaluate", "errors"):
        assert name in dir(amphys)
    with pytest.raises(AttributeError):
        amphys.no_such_thing  # noqa: B018


def test_registry_errors_list_valid_names():
    with pytest.raises(amphys.errors.UnknownNameError, match="known: .*barenblatt"):
        amphys.systems.get("barenblat")
    with pytest.raises(amphys.errors.UnknownNameError, match="did you mean 'barenblatt'"):
        amphys.systems.get("barenblat")
    with pytest.raises(amphys.errors.UnknownNameError, match="parameter of system 'barenblatt'.*known: .*dim"):
        amphys.systems.get("barenblatt", dimension=2)


@pytest.mark.skipif(shutil.which("lint-imports") is None and not (ROOT / ".venv/bin/lint-imports").exists(),
                    reason="import-linter not installed")
def test_layering_contracts():
    exe = shutil.which("lint-imports") or str(ROOT / ".venv/bin/lint-imports")
    out = subprocess.run([exe], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
