"""Assemble docs/benchmarks.md from the per-topic fragments in docs/bench/ (each written with its command).

    python docs/gen_benchmarks.py
"""

from pathlib import Path

HERE = Path(__file__).resolve().parent
ORDER = ["samplers", "numerics", "solver", "projection", "continuity", "schrodinger-analytic", "benchmarks-physics",
         "quantum", "scaling"]
HEADER = """# Benchmarks

Every figure on this page was measured by the command printed beside it, on the machine and date stated there.
Unless a section says otherwise the machine is the project's 2-core development VM (no GPU), shared with other
jobs while the figures were taken, so absolute times are noisy; targets are stated as ratios measured in one run.
No GPU machine was lent to the tasks that produced these figures, so every `--full` (GPU-scale) entry is marked as
not run.

Sections: """


def main() -> None:
    fragments = {p.stem: p for p in (HERE / "bench").glob("*.md")}
    names = [n for n in ORDER if n in fragments] + sorted(set(fragments) - set(ORDER))
    parts = [HEADER + ", ".join(f"`{n}`" for n in names) + ".\n"]
    for name in names:
        text = fragments[name].read_text().strip()
        if not text.startswith("#"):
            text = f"## {name}\n\n{text}"
        levels = [len(line) - len(line.lstrip("#")) for line in text.splitlines() if line.startswith("#")]
        shift = 2 - min(levels)  # each fragment's top heading becomes a section (##) of this page
        text = "\n".join(("#" * shift + line) if line.startswith("#") and shift > 0 else
                          line[-shift:] if line.startswith("#") and shift < 0 else line
                          for line in text.splitlines())
        parts.append(f"<!-- from docs/bench/{name}.md -->\n{text}\n")
    (HERE / "benchmarks.md").write_text("\n".join(parts))
    print(f"wrote {HERE / 'benchmarks.md'} from {len(names)} fragments")


if __name__ == "__main__":
    main()
