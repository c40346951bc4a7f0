"""The documentation is true: every command and code block in the guides runs, and the generated references
(``docs/cli.md``, ``docs/api.md``, the parameter tables of ``docs/systems.md``) match the code.

How the guides are run
----------------------
Every fenced ```` ```bash ```` and ```` ```python ```` block of the pages in ``PAGES`` is executed, in order, in one
temporary folder per page, which holds a link ``data`` to the repository's ``data/`` (so commands read
``data/measured_example.csv`` exactly as written); systems a page registers are forgotten afterwards. A block
preceded by ``<!-- not-tested: REASON -->`` is skipped (installation commands); ```` ```text ```` blocks are output,
not commands. ``amphys ...`` commands run in-process through ``amphys.cli.main.main`` (one torch import for the
whole page) and must exit with status 0; other shell lines run with bash.

Fast mode: training budgets are cut so that the whole file runs in about a minute. ``--steps N`` becomes
``--steps 10`` and ``amphys fit``/``amphys validate`` get ``--hidden 16 --depth 2 --batch-size 128`` (replacing
the documented values); in Python, ``steps=N`` becomes ``steps=10, hidden=16, depth=2, batch_size=128`` (replacing
documented ``hidden=``, ``depth=``, ``batch_size=`` keywords). Set ``AMPHYS_DOCS_STEPS`` to run
with another step count (e.g. the documented one, to reproduce the printed numbers).

Links
-----
Every relative link of the pages in ``LINKED`` (all of ``docs/``, and the READMEs) points to a file that exists
and, with ``#anchor``, to a heading of that page (GitHub's anchors); every ``docs/<page>.md#anchor`` cited in the
code and the tests does too.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import subprocess
import sys
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PAGES = ["getting-started.md", "guide-measured-data.md", "systems.md", "architecture.md", "testing.md"]
#: pages whose links are checked: every page of docs/ (theory.md and architecture.md included) and the READMEs
LINKED = sorted(p.relative_to(ROOT) for p in DOCS.glob("*.md")) + [Path("README.md"), Path("data/README.md")]
STEPS = int(os.environ.get("AMPHYS_DOCS_STEPS", "10"))
SMALL_NET = {"--hidden": "16", "--depth": "2", "--batch-size": "128"}
TRAINING_COMMANDS = ("fit", "validate")

_FENCE = re.compile(r"(<!--\s*not-tested:(?P<reason>[^>]*)-->\s*\n)?```(?P<lang>\w*)\n(?P<body>.*?)```", re.S)


def blocks(page: str):
    """``[(lang, body, skip_reason or None)]`` of the fenced blocks of ``docs/page``."""
    text = (DOCS / page).read_text()
    return [(m["lang"], m["body"], m["reason"].strip() if m["reason"] is not None else None)
            for m in _FENCE.finditer(text)]


def commands(body: str) -> list[str]:
    """Shell commands of a bash block: continuation lines joined, comments and blank lines dropped."""
    out, current = [], ""
    for line in body.splitlines():
        current += line
        if line.endswith("\\"):
            current = current[:-1] + " "
            continue
        cmd = current.strip()
        current = ""
        if cmd and not cmd.startswith("#"):
            out.append(cmd)
    return out


def fast_argv(argv: list[str]) -> list[str]:
    argv = list(argv)
    if "--steps" in argv:
        argv[argv.index("--steps") + 1] = str(STEPS)
    if argv and argv[0] in TRAINING_COMMANDS:
        if "--steps" not in argv:
            argv += ["--steps", str(STEPS)]
        for flag, value in SMALL_NET.items():
            if flag in argv:
                argv[argv.index(flag) + 1] = value
            else:
                argv += [flag, value]
    return argv


def fast_python(code: str) -> str:
    code = re.sub(r"\b(hidden|depth|batch_size)=\d+, ", "", code)
    return re.sub(r"\bsteps=\d+", f"steps={STEPS}, hidden=16, depth=2, batch_size=128", code)


def run_page(page: str, tmp_path: Path, capsys, namespace: dict | None = None) -> None:
    """Run the blocks of ``page`` in ``tmp_path``; python blocks share ``namespace`` (the globals of a module)."""
    from amphys.cli.main import main

    (tmp_path / "data").symlink_to(ROOT / "data", target_is_directory=True)
    namespace = {"__name__": f"docs_{page}"} if namespace is None else namespace
    ran = 0
    for lang, body, skip in blocks(page):
        if skip is not None:
            assert skip, f"{page}: a not-tested block must say why"
            continue
        if lang == "python":
            exec(compile(fast_python(body), f"{page}:python", "exec"), namespace)
            ran += 1
        elif lang == "bash":
            for cmd in commands(body):
                argv = shlex.split(cmd, comments=True)
                if argv[0] == "amphys":
                    rc = main(fast_argv(argv[1:]))
                    captured = capsys.readouterr()
                    assert rc == 0, f"{page}: `{cmd}` exited with {rc}:\n{captured.out}\n{captured.err}"
                else:
                    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
                    proc = subprocess.run(["bash", "-c", cmd], cwd=tmp_path, env=env, capture_output=True,
                                          text=True, timeout=300)
                    assert proc.returncode == 0, f"{page}: `{cmd}` failed:\n{proc.stdout}\n{proc.stderr}"
                ran += 1
    assert ran, f"{page}: no command was run"


@pytest.mark.parametrize("page", PAGES)
def test_page_runs_as_written(page, tmp_path, monkeypatch, capsys):
    import amphys.systems

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setattr(amphys.systems, "_REGISTRY", dict(amphys.systems._REGISTRY))  # the example system goes
    module = types.ModuleType("docs_" + page.removesuffix(".md").replace("-", "_"))  # dataclasses look it up
    monkeypatch.setitem(sys.modules, module.__name__, module)
    run_page(page, tmp_path, capsys, module.__dict__)


# -- links ------------------------------------------------------------------------------------------------------
_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
_CITED = re.compile(r"docs/([\w-]+\.md)#([\w-]+)")


def anchors(page: Path) -> set[str]:
    """GitHub's anchors of the headings of a markdown page (lower case, punctuation dropped, spaces to hyphens,
    ``-1``, ``-2`` for repeats); headings inside fenced blocks do not count."""
    found, seen = set(), {}
    for heading in re.findall(r"^#{1,6} (.+)$", re.sub(r"```.*?```", "", page.read_text(), flags=re.S), re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        found.add(slug if slug not in seen else f"{slug}-{seen[slug]}")
        seen[slug] = seen.get(slug, 0) + 1
    return found


def broken_links(page: Path) -> list[str]:
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)
    bad = []
    for target in _LINK.findall(text):
        if re.match(r"[a-z]+:", target):  # https:, mailto:
            continue
        path, _, anchor = target.partition("#")
        linked = (page.parent / path) if path else page
        if not linked.exists():
            bad.append(f"{target} (no such file)")
        elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
            bad.append(f"{target} (no heading #{anchor})")
    return bad


@pytest.mark.parametrize("page", LINKED, ids=str)
def test_links_resolve(page):
    assert not broken_links(ROOT / page), f"{page}: broken links {broken_links(ROOT / page)}"


def test_cited_anchors_exist():
    """A ``docs/<page>.md#<anchor>`` cited in a docstring or comment names a heading that exists."""
    bad = []
    for folder in ("amphys", "tests", "benchmarks", "docs"):
        for path in (ROOT / folder).rglob("*.py"):
            for page, anchor in _CITED.findall(path.read_text()):
                if not (DOCS / page).exists() or anchor not in anchors(DOCS / page):
                    bad.append(f"{path.relative_to(ROOT)}: docs/{page}#{anchor}")
    assert not bad, bad


def test_cited_files_exist():
    """A source file named in the documentation or in a docstring (``amphys/solver/loop.py``) exists."""
    sources = [*DOCS.glob("*.md"), ROOT / "README.md", *(p for folder in ("amphys", "tests", "benchmarks", "docs")
                                                        for p in (ROOT / folder).rglob("*.py"))]
    bad = sorted({f"{path.relative_to(ROOT)}: {name}" for path in sources
                  for name in re.findall(r"\bamphys/[\w/]+\.py\b", path.read_text()) if not (ROOT / name).exists()})
    assert not bad, bad


def test_link_check_sees_a_broken_link(tmp_path):
    (tmp_path / "a.md").write_text("# Title\n\n## Two words\n\n[ok](#two-words) [bad](#three) [file](b.md)\n")
    assert anchors(tmp_path / "a.md") == {"title", "two-words"}
    assert broken_links(tmp_path / "a.md") == ["#three (no heading #three)", "b.md (no such file)"]


def test_measured_example_goes_through_fit_and_evaluate(tmp_path, monkeypatch, capsys):
    """Done-when of the measured-data issue: a CSV with a time column and three coordinate columns goes through
    `amphys fit` and `amphys evaluate` with no code, in its physical units."""
    import amphys
    from amphys.cli.main import main

    monkeypatch.chdir(tmp_path)
    csv = str(ROOT / "data" / "measured_example.csv")
    assert main(fast_argv(["fit", csv, "-o", "m.pt", "--steps", "5"])) == 0
    model = amphys.load_model(tmp_path / "m.pt")
    assert (model.units_x, model.units_t, model.dim) == ("um", "s", 3)
    assert main(["evaluate", "m.pt", csv, "-o", "report.h5"]) == 0
    assert amphys.io.open_dataset(tmp_path / "report.h5").sizes["time"] == 8


def test_fit_and_evaluate_say_how_the_file_was_read(tmp_path, monkeypatch, capsys):
    from amphys.cli.main import main

    monkeypatch.chdir(tmp_path)
    csv = str(ROOT / "data" / "measured_example.csv")
    assert main(fast_argv(["fit", csv, "-o", "m.pt", "--steps", "2", "--time-column", "time"])) == 0
    assert "read measured_example.csv: time 'time' [s]; 3 coordinates 'x', 'y', 'z' [um]" in capsys.readouterr().out
    assert main(["evaluate", "m.pt", csv, "-o", "report.h5", "--units-x", "um"]) == 0
    assert "read measured_example.csv" in capsys.readouterr().out


# -- generated references ---------------------------------------------------------------------------------------
def _gen():
    sys.path.insert(0, str(DOCS))
    try:
        import gen_docs
    finally:
        sys.path.remove(str(DOCS))
    return gen_docs


def test_generated_docs_are_up_to_date():
    stale = [str(p.relative_to(ROOT)) for p, text in _gen().outputs().items()
             if not p.exists() or p.read_text() != text]
    assert not stale, f"out of date: {stale}; run `python docs/gen_docs.py`"


def test_every_cli_flag_is_documented():
    from amphys.cli.main import build_parser

    text = (DOCS / "cli.md").read_text()
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    missing = []
    for name, p in sub.choices.items():
        assert f"## amphys {name}\n" in text, f"docs/cli.md has no section for `amphys {name}`"
        section = text.split(f"## amphys {name}\n", 1)[1].split("\n## amphys ", 1)[0]
        missing += [f"{name} {opt}" for a in p._actions for opt in a.option_strings
                    if opt not in ("-h", "--help") and f"`{opt}`" not in section]
    assert not missing, f"flags missing from docs/cli.md: {missing}"


def test_every_listed_api_name_exists():
    gen = _gen()
    names = [n for _, group in gen.API for n in group]
    for name in names:
        gen.resolve(name)  # raises AttributeError naming the missing piece
    text = (DOCS / "api.md").read_text()
    assert all(f"`{n}`" in text for n in names)


def test_every_system_has_a_section():
    import amphys

    text = (DOCS / "systems.md").read_text()
    for name in amphys.systems.names():
        assert f"## `{name}`" in text and f"<!-- params: {name} -->" in text
