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
from dataclasses import dataclass, field

import numpy as np

from amphys.errors import InputError, describe

__all__ = ["Projection", "project_gradient", "default_n_grid", "default_box"]

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


def default_box(system, t, n_samples: int, seed: int, symmetric_xy: bool):
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
    from amphys._checks import check_time

    start = time.perf_counter()
    d = int(system.dim)
    if d > 3:
        raise InputError(f"system: gradient projection on a grid supports d <= 3, got d = {d}")
    t = check_time(t)
    shape = _grid_shape(n_grid, d)
    if not (np.isfinite(floor) and 0 <= floor < 1):
        raise InputError(f"floor: expected a relative density floor in [0, 1), got {describe(floor)}")
    lo, hi = default_box(system, t, n_box_samples, seed, symmetric_xy=False) if box is None else _check_box(box, d)
    h = (hi - lo) / np.asarray(shape)
    lattices = _face_values(system, t, shape, lo, h)
    qmax = max(float(q.max()) for q, _ in lattices)
    if not qmax > 0:
        raise InputError(f"box: the density of system {system.name!r} at t={t} is zero on every face of the box "
                         f"{lo.tolist()}..{hi.tolist()}; give a box that contains the density")
    D, wts, rhs_flux, face_data = _assemble(lattices, qmax, floor, shape, h)
    A = (D.T.multiply(wts) @ D).tocsr()
    b = D.T @ rhs_flux
    diag = A.diagonal()
    active = np.flatnonzero(diag > 0)
    A = A[active][:, active]
    b = b[active]
    if maxiter is None:
        maxiter = 50 * max(shape) * d
    s_active, iterations, converged = _pcg_jacobi(A, b, 1.0 / diag[active], rtol=rtol, maxiter=maxiter)
    rel_res = float(np.sqrt(_dot(A @ s_active - b, A @ s_active - b)) / max(np.sqrt(_dot(b, b)), 1e-300))
    n_cells = int(np.prod(shape))
    s = np.zeros(n_cells)
    s[active] = s_active
    is_active = np.zeros(n_cells, dtype=bool)
    is_active[active] = True
    face_gradient, ke, ke_phys, ke_res, mass = _face_gradients(s, is_active, face_data, shape, h)
    info = {"iterations": iterations, "converged": bool(converged), "relative_residual": rel_res,
            "unknowns": int(active.size), "faces_kept": int(D.shape[0]),
            "faces_total": int(sum(f[0].size for f in face_data)), "floor": float(floor),
            "seconds": time.perf_counter() - start}
    if not converged:
        info["warning"] = f"CG stopped after {iterations} iterations at relative residual {rel_res:.2e}"
    return Projection(t=t, lo=lo, hi=hi, n_grid=shape, face_gradient=face_gradient, kinetic_energy=ke,
                      kinetic_energy_physical=ke_phys,
                      nongradient_fraction=ke_res / ke_phys if ke_phys > 0 else 0.0, mass=mass, info=info)


def _grid_shape(n_grid, d: int) -> tuple[int, ...]:
    if n_grid is None:
        n_grid = default_n_grid(d)
    shape = np.broadcast_to(np.asarray(n_grid), (d,))
    if not np.issubdtype(shape.dtype, np.integer) or np.any(shape < 4):
        raise InputError(f"n_grid: expected an integer >= 4 (or one per axis), got {describe(n_grid)}")
    return tuple(int(s) for s in shape)


def _face_values(system, t: float, shape, lo, h) -> list:
    """Per axis a: (q, v_a) at the centres of the interior faces normal to a (q = 0 where not finite)."""
    d = len(shape)
    centres = [lo[a] + h[a] * (np.arange(shape[a]) + 0.5) for a in range(d)]
    lattices = []
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
    return lattices


def _assemble(lattices, qmax: float, floor: float, shape, h):
    """The difference operator D over the kept faces (rows) and cells (columns), the face weights q_f h^d, the
    weighted fluxes q_f h^d v_f, and per axis (w, v on kept faces, kept, left cell, right cell)."""
    from scipy.sparse import coo_matrix

    n_cells = int(np.prod(shape))
    cell_index = np.arange(n_cells).reshape(shape)
    cell_volume = float(np.prod(h))
    rows, cols, vals, weights, rhs_flux, face_data = [], [], [], [], [], []
    offset = 0
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
    return D, np.concatenate(weights), np.concatenate(rhs_flux), face_data


def _face_gradients(s, is_active, face_data, shape, h):
    """∂_a s* on every face (zero where dropped) and the face-quadrature energies E_q|∇s*|², E_q|v|²,
    E_q|v − ∇s*|² and the mass, each lattice normalised by its own mass."""
    d = len(shape)
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
    return tuple(face_gradient), ke, ke_phys, ke_res, mass
