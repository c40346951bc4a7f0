"""Package-level contracts: light import, public namespace, layering (docs/api.md, docs/architecture.md)."""

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


def test_testing_helpers_import_neither_torch_nor_hypothesis_until_used():
    code = ("import sys, amphys, amphys.testing; "
            "print(' '.join(m for m in ('torch', 'matplotlib', 'hypothesis') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
    code = "import sys, amphys.testing.strategies; print('torch' in sys.modules, 'hypothesis' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False True"


def test_public_namespace():
    for name in ("systems", "io", "generate", "fit", "FitConfig", "load_model", "evaluate", "errors", "testing"):
        assert name in dir(amphys)
    with pytest.raises(AttributeError):
        amphys.no_such_thing  # noqa: B018


def test_verbs_are_plain_functions_in_noun_named_modules():
    import inspect

    for name, module in (("fit", "amphys.workflows.fitting"), ("evaluate", "amphys.workflows.evaluation"),
                         ("generate", "amphys.data.synthetic"), ("load_model", "amphys.workflows.result")):
        obj = getattr(amphys, name)
        assert inspect.isfunction(obj) and obj.__module__ == module, name
    assert amphys.FitResult.__module__ == "amphys.workflows.result"


def test_diagnostics_import_nothing_above_them_and_old_names_warn():
    code = ("import sys, amphys.diagnostics; "
            "print(' '.join(m for m in sys.modules if m.startswith('amphys.workflows') or m == 'torch'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
    from amphys.workflows.held_out_times import held_out

    with pytest.warns(DeprecationWarning, match="amphys.diagnostics.evaluate is deprecated; use amphys.evaluate"):
        assert amphys.diagnostics.evaluate is amphys.evaluate
    with pytest.warns(DeprecationWarning, match="amphys.diagnostics.held_out is deprecated"):
        from amphys.diagnostics import held_out as old
    assert old is held_out


def test_no_import_amphys_back_door():
    """Inside the package, modules import what they use by its path: ``import amphys`` would reach every layer
    through the lazy attributes of ``amphys/__init__.py``, which the layer contract cannot see."""
    offenders = []
    for path in (ROOT / "amphys").rglob("*.py"):
        for lineno, line in enumerate(path.read_text().splitlines(), 1):
            if line.strip() == "import amphys" or line.strip().startswith("import amphys as "):
                offenders.append(f"{path.relative_to(ROOT)}:{lineno}")
    assert not offenders, offenders


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
