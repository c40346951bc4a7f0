"""Size and power of the calibrated continuity test (docs/benchmarks.md#calibrated-continuity-test).

For each system, repetition, sample size N and number of snapshots T, independent snapshots are drawn at T evenly
spaced times of the system's t_span and the test (:func:`amphys.diagnostics.continuity_test`) is run on

* ``true``      the system's physical velocity (it satisfies continuity, gradient or not): the false-positive rate;
* ``scale<s>``  s × the true velocity, s ∈ {0.5, 0.7, 0.8, 0.9, 0.95};
* ``grad<e>``   v + e · (RMS|v| / RMS|∇ψ|)(t) · ∇ψ, a smooth gradient error of relative size e, ψ a Gaussian bump at
                the data scale (standardised coordinates, centre (½, −½));
* ``divfree``   v + 0.5 · (RMS|v| / RMS|w|)(t) · w, w = J∇q (2-D; ∇·(q J∇q) = 0): the error the weak form cannot
                see, rejected at the false-positive rate by design (1-D has no such w but 0).

Every repetition uses its own independent samples (a block of repetitions at one time comes from one sampler call,
split into disjoint sets; N < N_max uses the first N points of a set, T = 11 every second time of T = 21, so
cells of the table are correlated with each other, each one a valid estimate). ∇φ·v is linear in v, so the
snapshot moments are computed once for (v, ∇ψ, w) and combined per variant.

    python benchmarks/continuity_power.py --systems ou,fp-grid --reps 200 --N 2000 --T 21
    python benchmarks/continuity_power.py --json          # only the final JSON line

The last stdout line is one flat JSON object: "<system>|N<n>|T<t>|<variant>" -> rejection rate at alpha, with
"...|se" (binomial standard error), "...|ratio" (median transport ratio) and timings.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

import amphys  # noqa: E402
from amphys.diagnostics.continuity import TestFunctions, continuity_test_moments  # noqa: E402

VARIANTS = {"true": (1.0, 0.0, 0.0), "divfree": (1.0, 0.0, 0.5), "scale0.95": (0.95, 0.0, 0.0),
            "scale0.9": (0.9, 0.0, 0.0), "scale0.8": (0.8, 0.0, 0.0), "scale0.7": (0.7, 0.0, 0.0),
            "scale0.5": (0.5, 0.0, 0.0), "grad0.1": (1.0, 0.1, 0.0), "grad0.2": (1.0, 0.2, 0.0),
            "grad0.3": (1.0, 0.3, 0.0)}


class Perturbations:
    """Smooth gradient error and q-divergence-free field, each scaled to RMS_q|·| = RMS_q|v| at every time."""

    def __init__(self, system, times, rng, n_ref=20000):
        self.system, self.d = system, system.dim
        ref = {t: system.sample(float(t), n_ref, rng) for t in times}
        pooled = np.concatenate(list(ref.values()))
        self.mu, self.sd = pooled.mean(0), pooled.std(0)
        self.z0 = np.array([0.5, -0.5, 0.5][:self.d])
        self.scale_g, self.scale_w = {}, {}
        for t, x in ref.items():
            rms_v = np.sqrt(np.mean(np.sum(system.velocity(float(t), x) ** 2, axis=1)))
            self.scale_g[t] = rms_v / max(_rms(self.grad_raw(x)), 1e-300)
            if self.d == 2:
                self.scale_w[t] = rms_v / max(_rms(self.div_raw(t, x)), 1e-300)

    def grad_raw(self, x):
        z = (x - self.mu) / self.sd
        psi = np.exp(-0.5 * np.sum((z - self.z0) ** 2, axis=1))
        return -(z - self.z0) / self.sd * psi[:, None]

    def div_raw(self, t, x):
        """J∇q with ∇q by central differences of the density."""
        h = 1e-5 * self.sd
        grad_q = np.empty_like(x)
        for a in range(self.d):
            e = np.zeros(self.d)
            e[a] = h[a]
            grad_q[:, a] = (np.exp(self.system.log_density(float(t), x + e))
                            - np.exp(self.system.log_density(float(t), x - e))) / (2 * h[a])
        return np.stack([-grad_q[:, 1], grad_q[:, 0]], axis=1)

    def fields(self, t, x):
        g = self.scale_g[t] * self.grad_raw(x)
        w = self.scale_w[t] * self.div_raw(t, x) if self.d == 2 else np.zeros_like(x)
        return self.system.velocity(float(t), x), g, w


def _rms(v):
    return float(np.sqrt(np.mean(np.sum(v ** 2, axis=1))))


def _moments(snaps, fields, tf):
    """Per snapshot: φ (n, K) and ∇φ·f (n, K) for the three fields, kept to combine per variant."""
    out = []
    for (_, x), fs in zip(snaps, fields):
        phi = tf(x, np.zeros_like(x))[0]
        out.append((phi, [tf(x, f)[1] for f in fs]))
    return out


def _combine(parts, coef):
    """m (T, K), b (T, K), C (T, 2K, 2K) of the field Σ coef_f f (∇φ·v is linear in v)."""
    T, K = len(parts), parts[0][0].shape[1]
    m, b, C = np.empty((T, K)), np.empty((T, K)), np.empty((T, 2 * K, 2 * K))
    for j, (phi, gs) in enumerate(parts):
        g = sum(c * gf for c, gf in zip(coef, gs))
        allc = np.concatenate([phi, g], axis=1)
        mean = allc.mean(axis=0)
        m[j], b[j] = mean[:K], mean[K:]
        c = allc - mean
        C[j] = (c.T @ c) / ((allc.shape[0] - 1) * allc.shape[0])
    return m, b, C


def run_system(name, reps, Ns, Ts, variants, alpha, block, seed, log):
    system = amphys.systems.get(name)
    t_all = np.linspace(*system.t_span, max(Ts))
    grids = {T: t_all[::(max(Ts) - 1) // (T - 1)] for T in Ts}
    rng = np.random.default_rng(seed)
    pert = Perturbations(system, t_all, rng)
    n_max = max(Ns)
    keys = [(N, T, v) for N in Ns for T in Ts for v in variants]
    pvals, ratio = {k: [] for k in keys}, {k: [] for k in keys}
    t_test, n_test, done = 0.0, 0, 0
    while done < reps:
        nb = min(block, reps - done)
        pool = {}
        for t in t_all:
            x = system.sample(float(t), nb * n_max, rng)
            pool[t] = (x, *pert.fields(t, x))
        for r in range(nb):
            sl = slice(r * n_max, (r + 1) * n_max)
            for T in Ts:
                for N in Ns:
                    snaps = [(float(t), pool[t][0][sl][:N]) for t in grids[T]]
                    fields = [[pool[t][k][sl][:N] for k in (1, 2, 3)] for t in grids[T]]
                    start = time.perf_counter()
                    tf = TestFunctions(np.concatenate([x for _, x in snaps]), seed=seed + done + r)
                    parts = _moments(snaps, fields, tf)
                    for v in variants:
                        res = continuity_test_moments(grids[T], *_combine(parts, VARIANTS[v]), seed=seed + done + r)
                        pvals[(N, T, v)].append(res.p_value_all)
                        ratio[(N, T, v)].append(res.transport_ratio)
                        n_test += 1
                    t_test += time.perf_counter() - start
        done += nb
        log(f"{name}: {done}/{reps} repetitions, {t_test / max(n_test, 1):.3f} s per test")
    out = {}
    for (N, T, v), ps in pvals.items():
        p = np.array(ps)
        rate = float(np.mean(p < alpha))
        key = f"{name}|N{N}|T{T}|{v}"
        out[key] = rate
        out[key + "|se"] = float(np.sqrt(max(rate * (1 - rate), 1e-12) / p.size))
        out[key + "|ratio"] = float(np.nanmedian(ratio[(N, T, v)]))
    out[f"{name}|reps"] = reps
    out[f"{name}|seconds_per_test"] = t_test / max(n_test, 1)
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--systems", default="ou-mixture,fp-grid,pme-grid,schrodinger-grid",
                   help="registered system names, comma-separated (default: the four of docs/benchmarks.md)")
    p.add_argument("--reps", type=int, default=200, help="repetitions per system (default 200)")
    p.add_argument("--N", default="2000", help="samples per snapshot, comma-separated (e.g. 500,2000,8000)")
    p.add_argument("--T", default="21", help="snapshot counts, comma-separated, each dividing into 21 (11,21)")
    p.add_argument("--variants", default=",".join(VARIANTS), help="fields to test (default all)")
    p.add_argument("--alpha", type=float, default=0.05, help="level of the test (default 0.05)")
    p.add_argument("--block", type=int, default=10, help="repetitions drawn per sampler call (default 10)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true", help="print only the JSON line")
    a = p.parse_args(argv)
    Ns, Ts = [int(s) for s in a.N.split(",")], [int(s) for s in a.T.split(",")]
    if any((max(Ts) - 1) % (T - 1) for T in Ts):
        p.error(f"--T: each count minus one must divide {max(Ts) - 1}")
    variants = a.variants.split(",")
    for v in variants:
        if v not in VARIANTS:
            p.error(f"--variants: unknown {v!r}; known: {', '.join(VARIANTS)}")

    def log(msg):
        print(msg, file=sys.stderr, flush=True)

    result = {"alpha": a.alpha, "seed": a.seed, "command": " ".join(["python", "benchmarks/continuity_power.py",
                                                                        *sys.argv[1:]])}
    start = time.perf_counter()
    for name in a.systems.split(","):
        out = run_system(name, a.reps, Ns, Ts, variants, a.alpha, a.block, a.seed, log)
        result.update(out)
        if not a.json:
            print(f"\n{name} ({a.reps} repetitions; rejection rate at alpha = {a.alpha:g})")
            print("| N | T | " + " | ".join(variants) + " |")
            print("|---|---|" + "---|" * len(variants))
            for N in Ns:
                for T in Ts:
                    print(f"| {N} | {T} | " + " | ".join(f"{out[f'{name}|N{N}|T{T}|{v}']:.2f}" for v in variants)
                          + " |", flush=True)
    result["wall_seconds"] = time.perf_counter() - start
    print(json.dumps(result))


if __name__ == "__main__":
    main()
