"""Error anatomy: where the q-weighted squared field error of a learned velocity lives
(docs/theory.md#error-anatomy).

The field metric of amphys is q-weighted, E_q‖v − v*‖²/E_q‖v*‖² averaged over time. This module splits its
numerator into regions and says which share of it each region carries:

- by **time** (each evaluation time weighs equally, as in the averaged metric);
- by **radius** ‖x − c_t‖ from the centre c_t (the mean of q_t, or a given point), in units of one length ℓ
  (the root mean per-coordinate variance of all samples pooled, the solver's isotropic length);
- by **density level**: the mass of the highest-density region {q_t ≥ q_t(x)} a point sits on the edge of, so the
  bin (0.99, 0.999] holds the 0.9% of the mass where the density is lowest but one part in a thousand;
- by **distance to a node** of the wavefunction (a zero of ψ: nodal surface, vortex line or point), where the
  system knows ψ (``system.node_distance``), in units of ℓ.

Beside the q-weighted error it reports the error on the region holding ``mass`` (99%) of the probability, the
highest-density region, so a sliver of low density where the target is singular can neither hide a large error
nor dominate the figure unseen: ``velocity_error_mass`` and the share of the total error carried outside it.

Two entry points: :func:`error_anatomy` samples a System at given times and scores a model against its AM target
(closed form or gradient projection, as :func:`amphys.evaluate`); :func:`anatomy_of_samples` takes arrays (any
samples, weights, densities and node distances the caller has) and does the bookkeeping only.

Sums: for samples x_i at time t_k with weights w_i (1 for samples of q_t), e_i = ‖v − v*‖², the contribution of
region r is C_r = mean_k Σ_{i∈r,k} w_i e_i / Σ_{i∈k} w_i, the total is E = Σ_r C_r = mean_k E_{q_k}‖v − v*‖², and
the share of r is C_r/E. The relative error inside r is C_r divided by the same sum of ‖v*‖².
"""

from __future__ import annotations

import json

import numpy as np
import xarray as xr

from amphys.diagnostics.fields import call_velocity
from amphys.errors import InputError, describe

__all__ = ["error_anatomy", "anatomy_of_samples", "RADIUS_EDGES", "MASS_LEVELS", "NODE_EDGES"]

#: Radius bins, in units of the pooled length ℓ.
RADIUS_EDGES = (0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, np.inf)
#: Upper edges of the density-level bins (mass of the highest-density region).
MASS_LEVELS = (0.5, 0.9, 0.99, 0.999, 1.0)
#: Node-distance bins, in units of ℓ.
NODE_EDGES = (0.0, 0.05, 0.1, 0.2, 0.35, 0.5, np.inf)
_ANATOMY_SCHEMA = "anatomy/1"


def _as_edges(edges, name: str) -> np.ndarray:
    e = np.asarray(edges, dtype=np.float64)
    if e.ndim != 1 or e.size < 2 or np.any(np.diff(e) <= 0) or e[0] < 0:
        raise InputError(f"{name}: expected increasing non-negative bin edges, got {describe(edges)}")
    return e


def _hdr_level(log_q: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Mass of {q ≥ q(x_i)} for each sample, from the weighted ranks of log q (highest first)."""
    order = np.argsort(-log_q, kind="stable")
    cum = np.cumsum(w[order]) / np.sum(w)
    level = np.empty_like(cum)
    level[order] = cum
    return level


def _knn_log_density(x: np.ndarray, k: int = 10) -> np.ndarray:
    """log q up to a constant from the distance to the k-th neighbour, −d log r_k (used when no density is
    given; ranks only matter)."""
    from scipy.spatial import cKDTree

    k = min(k, x.shape[0] - 1)
    if k < 1:
        return np.zeros(x.shape[0])
    r, _ = cKDTree(x).query(x, k=k + 1)
    return -x.shape[1] * np.log(np.maximum(r[:, -1], 1e-300))


def anatomy_of_samples(times, x, v, v_target, *, time=None, weights=None, log_density=None, node_distance=None,
                       centre="mean", length=None, mass: float = 0.99, radius_edges=RADIUS_EDGES,
                       mass_levels=MASS_LEVELS, node_edges=NODE_EDGES, attrs: dict | None = None) -> xr.Dataset:
    """The error anatomy of ``v`` against ``v_target`` at samples ``x``.

    Parameters
    ----------
    times : the distinct evaluation times, (K,).
    x, v, v_target : (n, d) arrays, one row per sample (all times stacked).
    time : (n,) time of each row (values of ``times``); None with K = 1.
    weights : (n,) non-negative weights of the rows (default 1: samples of q_t). Within a time the expectations
        are Σ w f / Σ w.
    log_density : (n,) log q_t(x) (any additive constant per time); None: a k-nearest-neighbour estimate
        (only its ranks enter, through the density levels).
    node_distance : (n,) distance to the nearest zero of ψ (``inf`` far from every node), or None.
    centre : "mean" (the weighted mean of each time), "origin", or a (d,) point.
    length : ℓ, the length unit of the radius and node bins; default the root mean per-coordinate variance of
        all rows pooled (weighted).
    mass : the probability of the high-density region on which ``velocity_error_mass`` is reported.
    radius_edges, node_edges : bin edges in units of ℓ; mass_levels : upper edges of the density-level bins.

    Returns
    -------
    xarray.Dataset with dims ``time``, ``radius``, ``level``, (``node``): per time ``mean_sq_error``,
    ``kinetic_energy_target``, ``velocity_error``, ``velocity_error_mass``, ``error_share``; per region
    ``mass_share_*``, ``error_share_*``, ``velocity_error_*`` (relative error inside it) and
    ``error_share_time_*`` (time × region); scalars ``velocity_error`` (q-weighted, E/K averaged over time),
    ``velocity_error_root``, ``velocity_error_mass`` (on the highest-density region of probability ``mass``),
    ``velocity_error_mass_root``, ``error_share_outside_mass``, ``velocity_error_root_time_mean`` (mean over times
    of the per-time root, the benchmark tables' figure). attrs: ``length``, ``mass``, sources.
    """
    times, x, v, vt, k_of, w = _checked_rows(times, x, v, v_target, time, weights)
    if not 0 < mass <= 1:
        raise InputError(f"mass: expected a probability in (0, 1], got {describe(mass)}")
    r_edges, n_edges = _as_edges(radius_edges, "radius_edges"), _as_edges(node_edges, "node_edges")
    levels = np.asarray(mass_levels, dtype=np.float64)
    if levels.ndim != 1 or np.any(np.diff(levels) <= 0) or levels[0] <= 0 or levels[-1] != 1.0:
        raise InputError(f"mass_levels: expected increasing upper edges ending at 1, got {describe(mass_levels)}")
    n, K = x.shape[0], times.size
    wsum = np.bincount(k_of, weights=w, minlength=K)
    if np.any(wsum <= 0):
        raise InputError("weights: every time needs rows with positive weight")
    length, centre_source, radius = _radius(x, w, k_of, wsum, centre, length)
    density_source, level = _levels(x, w, k_of, K, log_density)
    t = _Tally(times, k_of, w / wsum[k_of] / K, np.sum((v - vt) ** 2, axis=1), np.sum(vt * vt, axis=1),
               level <= mass + 1e-12)
    t.region("radius", np.clip(np.searchsorted(r_edges, radius, side="right") - 1, 0, r_edges.size - 2),
             r_edges.size - 1, {"radius": r_edges[:-1], "radius_upper": ("radius", r_edges[1:])})
    t.region("level", np.minimum(np.searchsorted(levels, level - 1e-12), levels.size - 1), levels.size,
             {"level": levels, "level_lower": ("level", np.concatenate([[0.0], levels[:-1]]))})
    node_source = "none"
    if node_distance is not None:
        nd = np.asarray(node_distance, dtype=np.float64).reshape(-1) / length
        if nd.size != n:
            raise InputError(f"node_distance: expected {n} values, got {describe(node_distance)}")
        nd = np.where(np.isnan(nd), np.inf, nd)
        t.region("node", np.clip(np.searchsorted(n_edges, nd, side="right") - 1, 0, n_edges.size - 2),
                 n_edges.size - 1, {"node": n_edges[:-1], "node_upper": ("node", n_edges[1:])})
        node_source = "node_distance"
    meta = {"amphys_schema": _ANATOMY_SCHEMA, "length": length, "mass": float(mass), "centre": centre_source,
            "density_source": density_source, "node_source": node_source,
            "radius_unit": "length", "node_unit": "length", "n_rows": int(n)}
    meta.update(attrs or {})
    return xr.Dataset(t.finish(), coords=t.coords, attrs=meta)


def _checked_rows(times, x, v, v_target, time, weights):
    """Validated arrays: times (K,), x, v, v* (n, d), the time index of each row and the row weights."""
    times = np.atleast_1d(np.asarray(times, dtype=np.float64))
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise InputError(f"x: expected an (n, d) array, got {describe(x)}")
    n = x.shape[0]
    v = np.asarray(v, dtype=np.float64).reshape(n, -1)
    vt = np.asarray(v_target, dtype=np.float64).reshape(n, -1)
    if v.shape != x.shape or vt.shape != x.shape:
        raise InputError(f"v, v_target: expected shape {x.shape} like x, got {v.shape} and {vt.shape}")
    if time is None:
        if times.size != 1:
            raise InputError("time: give the time of each row when there are several times")
        k_of = np.zeros(n, dtype=np.int64)
    else:
        tt = np.asarray(time, dtype=np.float64).reshape(-1)
        k_of = np.searchsorted(times, tt)
        if tt.size != n or np.any(k_of >= times.size) or np.any(times[np.minimum(k_of, times.size - 1)] != tt):
            raise InputError("time: every row's time must be one of `times`")
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64).reshape(-1)
    if w.size != n or np.any(~np.isfinite(w)) or np.any(w < 0):
        raise InputError(f"weights: expected {n} finite non-negative weights, got {describe(weights)}")
    return times, x, v, vt, k_of, w


def _radius(x, w, k_of, wsum, centre, length):
    """(ℓ, the centre's source, ‖x − c_t‖/ℓ per row); ℓ defaults to the pooled root mean variance."""
    n, d = x.shape
    if length is None:
        mu = np.sum(w[:, None] * x, axis=0) / np.sum(w)
        length = float(np.sqrt(np.mean(np.sum(w[:, None] * (x - mu) ** 2, axis=0) / np.sum(w))))
    length = float(length) if float(length) > 0 else 1.0
    source = centre if isinstance(centre, str) else "given"
    if isinstance(centre, str) and centre == "mean":
        K = wsum.size
        c = np.stack([np.bincount(k_of, weights=w * x[:, a], minlength=K) / wsum for a in range(d)], axis=1)[k_of]
    elif isinstance(centre, str) and centre == "origin":
        c = np.zeros((n, d))
    elif isinstance(centre, str):
        raise InputError(f"centre: expected 'mean', 'origin' or a point, got {centre!r}")
    else:
        c = np.broadcast_to(np.asarray(centre, dtype=np.float64).reshape(-1), (n, d))
    return length, source, np.sqrt(np.sum((x - c) ** 2, axis=1)) / length


def _levels(x, w, k_of, K, log_density):
    """(the density's source, the highest-density-region mass level of each row, per time)."""
    n = x.shape[0]
    source = "log_density"
    if log_density is None:
        source = "knn estimate"
        log_q = np.empty(n)
        for k in range(K):
            rows = k_of == k
            log_q[rows] = _knn_log_density(x[rows])
    else:
        log_q = np.asarray(log_density, dtype=np.float64).reshape(-1)
        if log_q.size != n:
            raise InputError(f"log_density: expected {n} values, got {describe(log_density)}")
        log_q = np.where(np.isnan(log_q), -np.inf, log_q)
    level = np.empty(n)
    for k in range(K):
        rows = np.flatnonzero(k_of == k)
        level[rows] = _hdr_level(log_q[rows], w[rows])
    return source, level


def _ratio(a, b):
    """a/b elementwise, with x/0 = inf for x > 0 and 0/0 = 0."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b > 0, a / np.where(b > 0, b, 1.0), np.where(a > 0, np.inf, 0.0))


class _Tally:
    """The sums of the module docstring: rows with normalised weights ``wn`` (Σ wn·f = mean over times of
    E_{q_t} f), squared errors ``err``, target energies ``ke`` and the 99%-mass flag ``inside``."""

    def __init__(self, times, k_of, wn, err, ke, inside):
        K = times.size
        self.k_of, self.wn, self.err, self.ke, self.inside, self.K = k_of, wn, err, ke, inside, K
        self.total_err, self.total_ke = float(np.sum(wn * err)), float(np.sum(wn * ke))
        self.per_err = np.bincount(k_of, weights=wn * err, minlength=K) * K
        self.per_ke = np.bincount(k_of, weights=wn * ke, minlength=K) * K
        in_err = np.bincount(k_of, weights=wn * err * inside, minlength=K) * K
        in_ke = np.bincount(k_of, weights=wn * ke * inside, minlength=K) * K
        self.data = {
            "mean_sq_error": (("time",), self.per_err),
            "kinetic_energy_target": (("time",), self.per_ke),
            "velocity_error": (("time",), _ratio(self.per_err, self.per_ke)),
            "velocity_error_mass": (("time",), _ratio(in_err, in_ke)),
            "error_share": (("time",), _ratio(self.per_err, K * self.total_err)),
        }
        self.coords = {"time": times}

    def region(self, label, idx, n_bins, coords):
        """Shares and relative errors of the regions ``idx`` (bin of each row, ``n_bins`` bins)."""
        c_err, c_ke, c_mass = (np.zeros((self.K, n_bins)) for _ in range(3))
        np.add.at(c_err, (self.k_of, idx), self.wn * self.err)
        np.add.at(c_ke, (self.k_of, idx), self.wn * self.ke)
        np.add.at(c_mass, (self.k_of, idx), self.wn)
        self.data[f"mass_share_{label}"] = ((label,), c_mass.sum(axis=0))
        self.data[f"error_share_{label}"] = ((label,), _ratio(c_err.sum(axis=0), self.total_err))
        self.data[f"velocity_error_{label}"] = ((label,), _ratio(c_err.sum(axis=0), c_ke.sum(axis=0)))
        self.data[f"error_share_time_{label}"] = (("time", label), _ratio(c_err, self.total_err))
        self.coords.update(coords)

    def finish(self) -> dict:
        """The data variables with the scalars: totals, their roots, the 99%-mass error and the share outside."""
        wn, err, ke, inside = self.wn, self.err, self.ke, self.inside
        in_err, in_ke = float(np.sum(wn * err * inside)), float(np.sum(wn * ke * inside))
        rel = float(_ratio(self.total_err, self.total_ke))
        rel_mass = float(_ratio(in_err, in_ke))
        return {**self.data,
                "velocity_error_total": ((), rel),
                "velocity_error_root": ((), float(np.sqrt(rel))),
                "velocity_error_mass_total": ((), rel_mass),
                "velocity_error_mass_root": ((), float(np.sqrt(rel_mass))),
                "error_share_outside_mass": ((), float(_ratio(self.total_err - in_err, self.total_err))),
                "velocity_error_root_time_mean": ((), float(np.mean(np.sqrt(_ratio(self.per_err, self.per_ke))))),
                "mean_sq_error_total": ((), self.total_err),
                "kinetic_energy_target_total": ((), self.total_ke)}


def error_anatomy(model, system, times=None, *, n_per_time: int = 4000, seed: int = 0, target: str = "auto",
                  projection: dict | None = None, mass: float = 0.99, centre="mean", length=None,
                  radius_edges=RADIUS_EDGES, mass_levels=MASS_LEVELS, node_edges=NODE_EDGES) -> xr.Dataset:
    """Where the field error of ``model`` against ``system``'s AM target lives (module docstring).

    ``model``: a FitResult or any callable v(t, x) -> (n, d). ``times``: default 11 evenly spaced over the
    system's window. ``n_per_time`` fresh exact samples of q_t per time (fixed ``seed``). ``target``: "auto" (the
    closed-form ``am_velocity`` where the system has one, else the gradient projection of its physical velocity
    with ``projection`` options, as :func:`amphys.evaluate`), "am_velocity", "projection" or "velocity" (the
    physical field, for contrast). Densities from ``system.log_density``; node distances from
    ``system.node_distance`` where the system has it (wavefunction systems). Other arguments: see
    :func:`anatomy_of_samples`.
    """
    from amphys._checks import check_count, check_times
    from amphys.diagnostics.projection import project_gradient
    from amphys.diagnostics.target import am_target

    targets = ("auto", "am_velocity", "projection", "velocity")
    if target not in targets:
        from amphys.errors import unknown_name

        raise unknown_name("target", target, targets)
    n_per_time = check_count(n_per_time, "n_per_time", low=4)
    times = np.linspace(*system.t_span, 11) if times is None else check_times(times, "times")
    projection = dict(projection or {})
    rng = np.random.default_rng(seed)
    xs, vs, vts, lqs, nds = [], [], [], [], []
    kind = target
    node_fn = getattr(system, "node_distance", None)
    for t in times:
        t = float(t)
        x = np.asarray(system.sample(t, n_per_time, rng), dtype=np.float64)
        if target == "velocity":
            vt = np.asarray(system.velocity(t, x), dtype=np.float64)
        elif target == "projection":
            proj = project_gradient(system, t, **projection)
            vt = proj.velocity(x)
        elif target == "am_velocity":
            vt = np.asarray(system.am_velocity(t, x), dtype=np.float64)
        else:
            f = am_target(system, t, **projection)
            kind = f.kind
            vt = f(x)
        xs.append(x)
        vts.append(vt)
        vs.append(call_velocity(model, t, x))
        with np.errstate(divide="ignore"):
            lqs.append(np.asarray(system.log_density(t, x), dtype=np.float64))
        nds.append(np.asarray(node_fn(t, x), dtype=np.float64) if callable(node_fn) else None)
    have_nodes = all(nd is not None for nd in nds)
    attrs = {"target": kind, "system": system.params_json(), "n_per_time": int(n_per_time), "seed": int(seed),
             "units_x": str(getattr(system, "units_x", "1")), "units_t": str(getattr(system, "units_t", "1")),
             "projection": json.dumps({k: np.asarray(v).tolist() for k, v in projection.items()}, sort_keys=True)}
    return anatomy_of_samples(times, np.concatenate(xs), np.concatenate(vs), np.concatenate(vts),
                              time=np.repeat(times, [len(x) for x in xs]), log_density=np.concatenate(lqs),
                              node_distance=np.concatenate(nds) if have_nodes else None, centre=centre,
                              length=length, mass=mass, radius_edges=radius_edges, mass_levels=mass_levels,
                              node_edges=node_edges, attrs=attrs)
