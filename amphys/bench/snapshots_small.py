"""Small samples in 5-D: the leave-one-time-out protocol of the snapshots benchmark (``--cases ou5,bar5``).

Five snapshots with 63–301 samples each (unequal counts) of a 5-D system with a known flow. For each interior
time t_j, every row is fitted on the other four snapshots, the samples of snapshot j−1 are pushed to t_j, and the
exact W1 distance (POT, Euclidean cost) to the held-out samples is compared with not moving at all (W1 between
snapshots j−1 and j) and between rows. The field's behaviour outside the data is reported as the ratio of the
largest speed on a sphere of three data radii (around the data mean) to the largest speed on the data
(``outside_ratio``; a field that runs away outside the samples has a large ratio).
"""

from __future__ import annotations

import numpy as np

__all__ = ["SMALL_CASES", "COUNTS", "run_small"]

COUNTS = (63, 301, 120, 180, 90)
#: key -> (label, system name, parameters): a rotating and contracting 5-D OU, and 5-D Barenblatt
SMALL_CASES = {
    "ou5": ("5-D rotating OU, 63–301 samples", "ou", {
        "drift": [[0.5, -1.5, 0, 0, 0], [1.5, 0.5, 0, 0, 0], [0, 0, 0.3, -0.8, 0], [0, 0, 0.8, 0.3, 0],
                  [0, 0, 0, 0, 0.6]],
        "diffusion": 0.05, "mean0": [2.0, 0.0, 1.0, 0.0, 0.5], "cov0": 0.2, "t_span": [0.0, 2.0]}),
    "bar5": ("5-D Barenblatt m=2, 63–301 samples", "barenblatt", {"dim": 5, "m": 2.0}),
}


def _w1(a: np.ndarray, b: np.ndarray) -> float:
    import ot

    return float(ot.emd2(np.full(len(a), 1 / len(a)), np.full(len(b), 1 / len(b)), ot.dist(a, b, metric="euclidean"),
                         numItermax=10 ** 7))


def _outside_ratio(model, t: float, x: np.ndarray, rng) -> float:
    centre = x.mean(axis=0)
    radius = float(np.max(np.linalg.norm(x - centre, axis=1)))
    u = rng.standard_normal((500, x.shape[1]))
    far = centre + 3 * radius * u / np.linalg.norm(u, axis=1, keepdims=True)
    inside = np.max(np.linalg.norm(model.velocity(t, x), axis=1))
    outside = np.max(np.linalg.norm(model.velocity(t, far), axis=1))
    return float(outside / inside) if inside > 0 else float("inf")


def run_small(key: str, plan, *, seed: int = 0, rows=("default", "mixture", "cfm", "torchcfm")) -> list[dict]:
    """Records (row, held-out time, w1, w1_static, outside_ratio, status) of one small-sample case."""
    from amphys import systems
    from amphys.bench._snapshot_rows import fit_row, torchcfm_available
    from amphys.bench._suite import log
    from amphys.data.snapshots import make_snapshots

    label, name, params = SMALL_CASES[key]
    system = systems.get(name, **params)
    times = np.linspace(*system.t_span, len(COUNTS))
    rng = np.random.default_rng([seed, 5])
    xs = [system.sample(float(t), n, rng) for t, n in zip(times, COUNTS)]
    records = []
    for j in range(1, len(times) - 1):
        keep = [k for k in range(len(times)) if k != j]
        sub_t, sub_x = times[keep], [xs[k] for k in keep]
        data = make_snapshots(np.repeat(sub_t, [len(x) for x in sub_x]), np.concatenate(sub_x))
        static = _w1(xs[j - 1], xs[j])
        for row in rows:
            if row == "torchcfm" and not torchcfm_available():
                continue
            model, train_s, status, note = fit_row(row, system, data, sub_t, sub_x, plan.net, seed=seed)
            try:
                pushed = np.asarray(model.push(xs[j - 1], float(times[j - 1]), [float(times[j])]))[0]
                w1 = _w1(pushed, xs[j]) if np.all(np.isfinite(pushed)) else float("nan")
                ratio = _outside_ratio(model, float(times[j]), xs[j], rng)
            except Exception as exc:  # a push that cannot finish is a result here, not a crash of the benchmark
                w1, ratio, status = float("nan"), float("nan"), f"{status}; push failed: {exc}"[:200]
            records.append({"case": key, "row": row, "held_out": float(times[j]), "w1": w1, "w1_static": static,
                            "outside_ratio": ratio, "train_s": train_s, "status": status})
            log(f"{key} held out t={times[j]:.2f} {row:9s} W1 {w1:.3f} (not moving {static:.3f}) "
                f"outside/inside speed {ratio:.2f}  [{status}]")
    return records
