r"""Gradient projection of a physical velocity: the Action Matching target where no closed form exists
(docs/theory.md#gradient-projection).

For a density q and any valid continuity velocity v (∂_t q = −∇·(q v)), the AM target ∇s* is the
L²(q)-orthogonal projection of v onto gradients: the minimiser of E_q‖∇s − v‖², i.e. the solution of
∇·(q ∇s) = ∇·(q v) (docs/theory.md#gradient-projection). On a grid this is the discrete weighted Poisson problem

    min_s Σ_faces q_f (D_h s − v_f)²   ⇔   Dᵀ diag(q_f) D s = Dᵀ(q_f v_f),

with s at the cell centres of a regular grid on a box, D the cell-to-face difference operator of a staggered
(MAC) grid, q_f the exact density and v_f the normal component of the physical velocity at each face centre.
Faces with q_f < floor·max q_f are dropped (nodes, tails); cells without a kept face are removed. The matrix is
symmetric positive semi-definite with constants per connected component in its kernel; the right-hand side is in
its range, so Jacobi-preconditioned conjugate gradients converge (a small PCG loop, the algorithm of
``scipy.sparse.linalg.cg``, with einsum dot products: see ``_dot``).

The discrete normal equations make the split exactly orthogonal in the face quadrature, so the reported
energies satisfy E_q|v|² = E_q|∇s*|² + E_q|v − ∇s*|² to solver tolerance; each is a face quadrature
Σ_f q_f h^d (·)² normalised by the face-lattice mass of its axis.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np

from amphys.errors import InputError, describe

__all__ = ["Projection", "project_gradient", "am_target", "default_n_grid", "rigid_rotation"]

#: Default cells per axis by dimension: converged to about 1% in E|∇s*|² in seconds
#: (docs/bench/projection.md).
DEFAULT_N_GRID = {1: 4096, 2: 256, 3: 64}


def default_n_grid(d: int) -> int:
    return DEFAULT_N_GRID[d]


@dataclass(frozen=True, eq=False)
class Projection:
    """∇s* on a staggered grid at one time, with its energies.

    Attributes
    ----------
    t : the time of the solve.
    lo, hi : (d,) box corners; ``n_grid`` : cells per axis; ``h`` : (d,) cell sizes.
    face_gradient : per axis a, ∂_a s* at the faces normal to a (array of the grid shape with n_a − 1 along a;
        zero on dropped faces).
    kinetic_energy : E_q|∇s*|².  kinetic_energy_physical : E_q|v|².
    nongradient_fraction : E_q‖v − ∇s*‖² / E_q‖v‖² (the q-divergence-free share of the physical energy).
    mass : the probability mass inside the box (face quadrature; should be ≈ 1).
    info : solver details (iterations, unknowns, dropped faces, seconds, relative residual).
    """

    t: float
    lo: np.ndarray
    hi: np.ndarray
    n_grid: tuple
    face_gradient: tuple
    kinetic_energy: float
    kinetic_energy_physical: float
    nongradient_fraction: float
    mass: float
    info: dict = field(default_factory=dict)

    @property
    def dim(self) -> int:
        return len(self.n_grid)

    @property
    def h(self) -> np.ndarray:
        return (self.hi - self.lo) / np.asarray(self.n_grid)

    def velocity(self, x) -> np.ndarray:
        """∇s*(t, x) at points ``x (n, d)`` by multilinear interpolation of the face values; points outside the
        box take the value at the nearest box point (the density there is negligible by construction)."""
        x = np.asarray(x, dtype=np.float64)
        if x.ndim == 1 and self.dim == 1:
            x = x[:, None]
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise InputError(f"x: expected shape (n, {self.dim}), got {describe(x)}")
        h = self.h
        out = np.empty_like(x)
        for a in range(self.dim):
            origin = self.lo + 0.5 * h
            origin = origin.copy()
            origin[a] = self.lo[a] + h[a]
            out[:, a] = _interp(self.face_gradient[a], origin, h, x)
        return out

    def __call__(self, x) -> np.ndarray:
        return self.velocity(x)


def _interp(values: np.ndarray, origin: np.ndarray, h: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Multilinear interpolation of ``values`` on the lattice origin + h·i, clamped to the lattice."""
    d = values.ndim
    shape = np.asarray(values.shape)
    u = (x - origin) / h
    u = np.clip(u, 0.0, shape - 1.0)
    i0 = np.minimum(np.floor(u).astype(np.int64), np.maximum(shape - 2, 0))
    frac = u - i0
    out = np.zeros(x.shape[0])
    flat = values.ravel()
    strides = np.array([int(np.prod(shape[k + 1:])) for k in range(d)], dtype=np.int64)
    for corner in range(2 ** d):
        bits = [(corner >> k) & 1 for k in range(d)]
        w = np.ones(x.shape[0])
        idx = np.zeros(x.shape[0], dtype=np.int64)
        for k in range(d):
            ik = np.minimum(i0[:, k] + bits[k], shape[k] - 1)
            w *= frac[:, k] if bits[k] else 1.0 - frac[:, k]
            idx += ik * strides[k]
        out += w * flat[idx]
    return out


def _dot(a: np.ndarray, b: np.ndarray) -> float:
    # einsum, not BLAS ddot: multi-threaded OpenBLAS dot products were measured ~200x slower on a loaded
    # 2-core machine (threads spinning), which dominated the whole solve.
    return float(np.einsum("i,i->", a, b))


def _pcg_jacobi(A, b: np.ndarray, inv_diag: np.ndarray, *, rtol: float, maxiter: int):
    """Conjugate gradients on the SPD (or consistent PSD) system A s = b with the Jacobi preconditioner
    (Saad, *Iterative Methods for Sparse Linear Systems*, Alg. 9.1). Stops when ‖r‖ <= rtol·‖b‖.
    Returns (s, iterations, converged). Same algorithm as ``scipy.sparse.linalg.cg(A, b, M=diag⁻¹)``."""
    x = np.zeros_like(b)
    r = b.copy()
    stop = rtol * np.sqrt(_dot(b, b))
    if np.sqrt(_dot(r, r)) <= stop:
        return x, 0, True
    z = inv_diag * r
    p = z.copy()
    rz = _dot(r, z)
    for it in range(1, maxiter + 1):
        Ap = A @ p
        alpha = rz / _dot(p, Ap)
        x += alpha * p
        r -= alpha * Ap
        if np.sqrt(_dot(r, r)) <= stop:
            return x, it, True
        z = inv_diag * r
        rz_new = _dot(r, z)
        p *= rz_new / rz
        p += z
        rz = rz_new
    return x, maxiter, False


def _default_box(system, t, n_samples: int, seed: int, symmetric_xy: bool):
    x = np.asarray(system.sample(t, n_samples, np.random.default_rng(seed)), dtype=np.float64)
    lo, hi = x.min(axis=0), x.max(axis=0)
    if symmetric_xy:  # the box must contain the density at every rotation angle about z
        centre = 0.0
        r = np.max(np.abs(np.concatenate([lo[:2], hi[:2]]) - centre))
        lo[:2], hi[:2] = -r, r
    width = hi - lo
    return lo - 0.15 * width, hi + 0.15 * width


def _check_box(box, d):
    try:
        arr = np.asarray(box, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(f"box: expected (lo, hi) numbers or a (d, 2) array of bounds, got {describe(box)}") \
            from None
    if arr.shape == (2,):
        arr = np.tile(arr, (d, 1))
    if arr.shape != (d, 2) or not np.all(np.isfinite(arr)) or np.any(arr[:, 1] <= arr[:, 0]):
        raise InputError(f"box: expected (lo, hi) with lo < hi, or a ({d}, 2) array of per-axis bounds, "
                         f"got {describe(box)}")
    return arr[:, 0].copy(), arr[:, 1].copy()


def project_gradient(system, t, n_grid=None, box=None, floor: float = 1e-12, *, rtol: float = 1e-9,
                     maxiter: int | None = None, n_box_samples: int = 20000, seed: int = 0) -> Projection:
    """Solve ∇·(q∇s) = ∇·(q v) on a grid at time ``t`` and return the gradient part ∇s* of ``system.velocity``.

    Parameters
    ----------
    system : a System with ``log_density`` and ``velocity`` (d ≤ 3).
    t : time.
    n_grid : cells per axis (an int, or one per axis); default 4096 (1-D), 256 (2-D), 64 (3-D). Even counts keep
        cell centres off symmetry planes such as the nodal plane z = 0 of the hydrogen state.
    box : (lo, hi) for every axis or a (d, 2) array; default: the range of ``n_box_samples`` samples of q_t
        (fixed ``seed``) widened by 15% of its width on each side.
    floor : faces where q_f < floor · max q_f are dropped.
    rtol, maxiter : conjugate-gradient relative tolerance and iteration cap (default 50·n_grid·d).

    Returns
    -------
    :class:`Projection` with ``.velocity(x)``, ``.kinetic_energy`` (E_q|∇s*|²), ``.kinetic_energy_physical``
    (E_q|v|²), ``.nongradient_fraction`` (E_q‖v − ∇s*‖²/E_q‖v‖²).
    """
    from scipy.sparse import coo_matrix

    from amphys._checks import check_time

    start = time.perf_counter()
    d = int(system.dim)
    if d > 3:
        raise InputError(f"system: gradient projection on a grid supports d <= 3, got d = {d}")
    t = check_time(t)
    if n_grid is None:
        n_grid = default_n_grid(d)
    shape = np.broadcast_to(np.asarray(n_grid), (d,))
    if not np.issubdtype(shape.dtype, np.integer) or np.any(shape < 4):
        raise InputError(f"n_grid: expected an integer >= 4 (or one per axis), got {describe(n_grid)}")
    shape = tuple(int(s) for s in shape)
    if not (np.isfinite(floor) and 0 <= floor < 1):
        raise InputError(f"floor: expected a relative density floor in [0, 1), got {describe(floor)}")
    if box is None:
        lo, hi = _default_box(system, t, n_box_samples, seed, symmetric_xy=False)
    else:
        lo, hi = _check_box(box, d)
    h = (hi - lo) / np.asarray(shape)
    centres = [lo[a] + h[a] * (np.arange(shape[a]) + 0.5) for a in range(d)]
    n_cells = int(np.prod(shape))
    cell_index = np.arange(n_cells).reshape(shape)

    rows, cols, vals, weights, rhs_flux = [], [], [], [], []
    lattices = []  # per axis: (weights w_f on the full face lattice, v_f, kept mask)
    offset = 0
    for a in range(d):
        axes = [c.copy() for c in centres]
        axes[a] = lo[a] + h[a] * np.arange(1, shape[a])
        grid = np.meshgrid(*axes, indexing="ij")
        pts = np.stack([g.ravel() for g in grid], axis=1)
        with np.errstate(all="ignore"):
            q = np.exp(np.asarray(system.log_density(t, pts), dtype=np.float64))
            v = np.asarray(system.velocity(t, pts), dtype=np.float64)[:, a]
        q = np.where(np.isfinite(q), q, 0.0)
        lattices.append((q, v))
    qmax = max(float(q.max()) for q, _ in lattices)
    if not qmax > 0:
        raise InputError(f"box: the density of system {system.name!r} at t={t} is zero on every face of the box "
                         f"{lo.tolist()}..{hi.tolist()}; give a box that contains the density")
    cell_volume = float(np.prod(h))
    face_data = []
    for a, (q, v) in enumerate(lattices):
        kept = (q >= floor * qmax) & np.isfinite(v)
        w = q * cell_volume
        left = np.take(cell_index, np.arange(shape[a] - 1), axis=a).ravel()
        right = np.take(cell_index, np.arange(1, shape[a]), axis=a).ravel()
        k = np.flatnonzero(kept)
        m = k.size
        face_rows = offset + np.arange(m)
        rows += [face_rows, face_rows]
        cols += [left[k], right[k]]
        vals += [np.full(m, -1.0 / h[a]), np.full(m, 1.0 / h[a])]
        weights.append(w[k])
        rhs_flux.append(w[k] * v[k])
        face_data.append((w, np.where(kept, v, 0.0), kept, left, right))
        offset += m
    D = coo_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                   shape=(offset, n_cells)).tocsr()
    wts = np.concatenate(weights)
    A = (D.T.multiply(wts) @ D).tocsr()
    b = D.T @ np.concatenate(rhs_flux)
    diag = A.diagonal()
    active = np.flatnonzero(diag > 0)
    A = A[active][:, active]
    b = b[active]
    if maxiter is None:
        maxiter = 50 * max(shape) * d
    s_active, iterations, converged = _pcg_jacobi(A, b, 1.0 / diag[active], rtol=rtol, maxiter=maxiter)
    rel_res = float(np.sqrt(_dot(A @ s_active - b, A @ s_active - b)) / max(np.sqrt(_dot(b, b)), 1e-300))
    s = np.zeros(n_cells)
    s[active] = s_active
    is_active = np.zeros(n_cells, dtype=bool)
    is_active[active] = True

    face_gradient = []
    ke = ke_phys = ke_res = mass = 0.0
    for a, (w, v, kept, left, right) in enumerate(face_data):
        g = np.where(kept & is_active[left] & is_active[right], (s[right] - s[left]) / h[a], 0.0)
        lattice_mass = float(w.sum())
        mass += lattice_mass / d
        ke += float(np.sum(w * g * g)) / lattice_mass
        ke_phys += float(np.sum(w * v * v)) / lattice_mass
        ke_res += float(np.sum(w * (v - g) ** 2)) / lattice_mass
        fshape = list(shape)
        fshape[a] -= 1
        face_gradient.append(g.reshape(fshape))
    info = {"iterations": iterations, "converged": bool(converged), "relative_residual": rel_res,
            "unknowns": int(active.size), "faces_kept": int(offset),
            "faces_total": int(sum(f[0].size for f in face_data)), "floor": float(floor),
            "seconds": time.perf_counter() - start}
    if not converged:
        info["warning"] = f"CG stopped after {iterations} iterations at relative residual {rel_res:.2e}"
    return Projection(t=t, lo=lo, hi=hi, n_grid=shape, face_gradient=tuple(face_gradient), kinetic_energy=ke,
                      kinetic_energy_physical=ke_phys,
                      nongradient_fraction=ke_res / ke_phys if ke_phys > 0 else 0.0, mass=mass, info=info)


# -- the AM target of a system ------------------------------------------------------------------------------------
def rigid_rotation(system):
    """Angular velocity Ω about z when the system's density and velocity rotate rigidly
    (q(x, t) = q(R_z(Ωt)ᵀx, 0), v(x, t) = R v(Rᵀx, 0)), read from ``system.angular_velocity``; else None."""
    from amphys.errors import AmphysError

    if int(getattr(system, "dim", 0)) != 3:
        return None
    try:
        omega = getattr(system, "angular_velocity", None)
    except (AmphysError, NotImplementedError):
        return None
    return float(omega) if isinstance(omega, (int, float)) and np.isfinite(omega) else None


def _rotation(angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


_CACHE: OrderedDict = OrderedDict()
_CACHE_SIZE = 8


def _freeze(value):
    if isinstance(value, (np.ndarray, list, tuple)):
        return tuple(_freeze(v) for v in np.asarray(value, dtype=object).tolist()) if np.ndim(value) else value
    return value


def _cached_projection(system, t, options):
    key = (type(system).__qualname__, system.params_json(), float(t),
           tuple(sorted((k, _freeze(v)) for k, v in options.items())))
    if key in _CACHE:
        _CACHE.move_to_end(key)
        return _CACHE[key]
    proj = project_gradient(system, t, **options)
    _CACHE[key] = proj
    while len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return proj


def am_target(system, t, *, rotation="auto", **projection_options):
    """The AM target field at time ``t`` as a callable ``x -> (n, d)`` array.

    ``system.am_velocity`` when the system knows it in closed form (``has_am_velocity``); otherwise the gradient
    projection of its physical velocity (:func:`project_gradient`, options passed through), cached per
    (system parameters, time, options) — at most 8 solves are kept.

    Rotation shortcut: when the system rotates rigidly about z (``rotation="auto"`` reads
    ``system.angular_velocity``, e.g. the paper's hydrogen state; or pass Ω as a float), ∇s* is rotation
    covariant, ∇s*(x, t) = R ∇s*_0(Rᵀx) with R = R_z(Ωt), so a single solve at t = 0 serves every time (its box
    is made symmetric in x and y so that it holds the density at every angle). ``rotation=None`` disables it.
    The returned callable carries ``.kind`` ("am_velocity" or "projection") and, for a projection,
    ``.projection``.
    """
    from amphys._checks import check_time

    t = check_time(t)
    if system.has_am_velocity:
        def field_(x):
            return np.asarray(system.am_velocity(t, x), dtype=np.float64)

        field_.kind = "am_velocity"
        field_.projection = None
        return field_
    omega = rigid_rotation(system) if rotation == "auto" else rotation
    if omega is None:
        proj = _cached_projection(system, t, projection_options)
        field_ = proj.velocity
        wrapped = lambda x: field_(x)  # noqa: E731
        wrapped.kind = "projection"
        wrapped.projection = proj
        return wrapped
    if not isinstance(omega, (int, float)) or not np.isfinite(omega):
        raise InputError(f"rotation: expected 'auto', None or an angular velocity (float), got {describe(omega)}")
    options = dict(projection_options)
    if options.get("box") is None:
        options["box"] = np.stack(_default_box(system, 0.0, options.pop("n_box_samples", 20000),
                                               options.get("seed", 0), symmetric_xy=True), axis=1)
    proj = _cached_projection(system, 0.0, options)
    R = _rotation(float(omega) * t)

    def rotated(x):
        x = np.asarray(x, dtype=np.float64)
        return proj.velocity(x @ R) @ R.T  # R ∇s*_0(Rᵀx), row-wise

    rotated.kind = "projection"
    rotated.projection = proj
    return rotated
