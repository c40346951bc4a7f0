"""Draw docs/figures/snapshots-error-vs-k.png from the "number of snapshots" table of docs/bench/snapshots.md.

    python docs/gen_snapshot_figure.py

The values are copied from that table (each cell measured by the command printed above it; one seed); the figure
adds nothing that the table does not say.
"""

from pathlib import Path

OUT = Path(__file__).resolve().parent / "figures" / "snapshots-error-vs-k.png"
#: label -> (numbers of snapshots, field errors, colour, style)
ROWS = {
    "rotating OU, default (ot)": ([3, 6, 11, 21, 41], [0.543, 0.056, 0.052, 0.045, 0.040], "C0", "o-"),
    "rotating OU, mixture (before)": ([11, 41], [0.202, 0.088], "C0", "s--"),
    "Barenblatt m=2, default (mixture)": ([3, 6, 11, 21, 41], [0.368, 0.584, 0.275, 0.270, 0.267], "C3", "o-"),
    "Barenblatt m=2, mixture (before)": ([3, 6, 11, 41], [0.281, 0.258, 0.237, 0.63], "C3", "s--"),
}


def main() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.2, 3.6))
    for label, (k, err, colour, style) in ROWS.items():
        ax.plot(k, err, style, color=colour, label=label, ms=4)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xticks([3, 6, 11, 21, 41], labels=["3", "6", "11", "21", "41"])
    ax.set_xlabel("snapshots K (N = 2000 each)")
    ax.set_ylabel("relative field error")
    ax.set_title("error vs number of snapshots (64x3, 2000 steps, seed 0)", fontsize=9)
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    fig.savefig(OUT, dpi=120)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
