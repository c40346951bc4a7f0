"""Regenerate ``data/measured_example.csv``: a small, realistic "measured" snapshot dataset (see data/README.md).

Colloidal tracers released from one optical trap relax into a second, anisotropic trap while they diffuse: a 3D
Ornstein–Uhlenbeck process dX = −A X dt + sqrt(2D) dW in micrometres and seconds. Each snapshot is a separate
release (no particle is followed over time), imaged at irregular times with a different number of tracers found
per image, and every position carries Gaussian localisation noise. Deterministic: run it again and the file is
byte-identical.

    python data/make_measured_example.py [-o data/measured_example.csv]
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np

import amphys

SEED = 2024
#: Relaxation rates of the second trap along x, y, z (1/s): A = diag(RATES).
RATES = [1.5, 1.0, 0.6]
#: Diffusion coefficient (µm²/s) of a ~1 µm bead in water at room temperature.
DIFFUSION = 0.2
#: Centre of the first trap relative to the second one (µm) and the cloud's initial variance (µm²).
MEAN0 = [4.0, -2.0, 1.0]
COV0 = 0.05
#: Imaging times (s): irregular, denser early, when the cloud moves fastest.
TIMES = [0.0, 0.15, 0.35, 0.6, 0.9, 1.4, 2.0, 3.0]
#: Tracers found per image (unequal counts).
COUNTS = [320, 180, 260, 150, 240, 200, 170, 280]
#: Localisation noise (µm), standard deviation per coordinate.
NOISE = 0.03


def make(seed: int = SEED):
    """(time (N,), positions (N, 3)) in seconds and micrometres, sorted by time, with localisation noise."""
    system = amphys.systems.get("ou", drift=np.diag(RATES).tolist(), diffusion=DIFFUSION, mean0=MEAN0,
                                cov0=COV0, t_span=(TIMES[0], TIMES[-1]))
    clean = amphys.generate(system, TIMES, np.array(COUNTS), seed=seed, include_velocity=False)
    noise_rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(len(TIMES) + 1)[-1])
    x = clean["x"].values + NOISE * noise_rng.normal(size=clean["x"].shape)
    return clean["time"].values, x


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", default=str(Path(__file__).with_name("measured_example.csv")))
    args = parser.parse_args(argv)
    t, x = make()
    with open(args.output, "w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["time [s]", "x [um]", "y [um]", "z [um]"])
        for ti, row in zip(t, x):
            writer.writerow([f"{ti:.2f}"] + [f"{v:.4f}" for v in row])
    print(f"wrote {args.output}: {t.size} tracers at {len(TIMES)} times")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
