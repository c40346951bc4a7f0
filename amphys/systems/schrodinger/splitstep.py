"""Strang split-step Fourier propagator for iħ∂_tψ = −(ħ²/2m)Δψ + Vψ on a periodic grid (docs/theory.md#schrodinger).

One step of size Δt is ψ ← e^{−iVΔt/2ħ} F⁻¹[e^{−iħ|k|²Δt/2m} F[e^{−iVΔt/2ħ} ψ]], k = 2π·fftfreq(N, Δx):
unitary (norm conserved to round-off), second order in Δt (global error O(Δt²), with a constant set by
the commutators of T and V on the state), spectral in space for smooth, band-limited ψ. Consecutive half
potential steps are merged (e^{−iVΔt/ħ} between kinetic steps), so a step costs one FFT pair and two
complex multiplications, in place, in complex128; the phase factors are computed once.

Imaginary time (t → −iτ) with renormalisation after each step relaxes any state with ground-state overlap
to the ground state of the split operator (O(Δτ²) from the true one); convergence ∝ e^{−(E₁−E₀)τ}.
"""

from __future__ import annotations

import numpy as np
import scipy.fft as sfft

from amphys.systems.grid.mesh import Grid

__all__ = ["SplitStep"]

#: ``workers`` passed to scipy.fft (None: scipy's default, one thread).
FFT_WORKERS = None


class SplitStep:
    """Propagator for a fixed grid, potential values ``V`` (``grid.shape``), step ``dt``, ``mass`` and ``hbar``."""

    def __init__(self, grid: Grid, V: np.ndarray, dt: float, *, mass: float = 1.0, hbar: float = 1.0):
        if not grid.periodic:
            raise ValueError("split-step Fourier needs a periodic grid")
        self.grid = grid
        self.V = np.asarray(V, dtype=np.float64)
        self.dt = float(dt)
        self.mass = float(mass)
        self.hbar = float(hbar)
        ks = grid.wavenumbers()
        k2 = np.zeros(grid.shape)
        self._k = []
        for a, k in enumerate(ks):
            shape = [1] * grid.dim
            shape[a] = -1
            k2 = k2 + (k**2).reshape(shape)
            kd = k.copy()
            if grid.shape[a] % 2 == 0:
                kd[grid.shape[a] // 2] = 0.0  # the Nyquist mode has no well-defined derivative
            self._k.append(kd.reshape(shape))
        self.k2 = k2
        self._kin = self.kinetic_factor(self.dt)
        self._half = self.potential_factor(0.5 * self.dt)
        self._full = self._half * self._half

    # -- phase factors ----------------------------------------------------------------------------------------
    def kinetic_factor(self, tau: float) -> np.ndarray:
        return np.exp((-1j * self.hbar * tau / (2 * self.mass)) * self.k2)

    def potential_factor(self, tau: float) -> np.ndarray:
        return np.exp((-1j * tau / self.hbar) * self.V)

    # -- real time --------------------------------------------------------------------------------------------
    def run(self, psi: np.ndarray, n_steps: int) -> np.ndarray:
        """ψ after ``n_steps`` Strang steps of size ``dt`` (a new array; ``psi`` is not modified)."""
        if n_steps == 0:
            return np.array(psi, dtype=np.complex128)
        phi = np.multiply(psi, self._half, dtype=np.complex128)
        for s in range(n_steps):
            phi = self._kinetic(phi)
            np.multiply(phi, self._full if s < n_steps - 1 else self._half, out=phi)
        return phi

    def _kinetic(self, phi: np.ndarray) -> np.ndarray:
        phi = sfft.fftn(phi, overwrite_x=True, workers=FFT_WORKERS)
        np.multiply(phi, self._kin, out=phi)
        return sfft.ifftn(phi, overwrite_x=True, workers=FFT_WORKERS)

    def step_merged(self, phi: np.ndarray) -> np.ndarray:
        """One step in the merged form (kinetic, then the full potential phase): the cost of one step."""
        phi = self._kinetic(phi)
        np.multiply(phi, self._full, out=phi)
        return phi

    def partial(self, psi: np.ndarray, tau: float) -> np.ndarray:
        """One Strang step of size ``tau`` (any ``0 ≤ tau``); factors computed on the fly."""
        half = self.potential_factor(0.5 * tau)
        phi = sfft.fftn(psi * half, overwrite_x=True, workers=FFT_WORKERS)
        phi *= self.kinetic_factor(tau)
        phi = sfft.ifftn(phi, overwrite_x=True, workers=FFT_WORKERS)
        phi *= half
        return phi

    def advance(self, psi: np.ndarray, duration: float) -> np.ndarray:
        """ψ after time ``duration ≥ 0``: whole steps of ``dt`` and one partial Strang step for the rest."""
        n = int(np.floor(duration / self.dt + 1e-9))
        rest = duration - n * self.dt
        out = self.run(psi, n)
        if rest > 1e-12 * self.dt:
            out = self.partial(out, rest)
        return out

    # -- observables ------------------------------------------------------------------------------------------
    def gradient(self, psi: np.ndarray) -> list[np.ndarray]:
        """Spectral ∂_aψ for each axis (Nyquist mode dropped)."""
        hat = sfft.fftn(psi, workers=FFT_WORKERS)
        return [sfft.ifftn(1j * k * hat, workers=FFT_WORKERS) for k in self._k]

    def current(self, psi: np.ndarray) -> np.ndarray:
        """Probability current j = (ħ/m) Im(ψ̄∇ψ), shape ``grid.shape + (d,)``."""
        grads = self.gradient(psi)
        conj = np.conj(psi)
        return (self.hbar / self.mass) * np.stack([np.imag(conj * g) for g in grads], axis=-1)

    def refined(self, psi: np.ndarray, factor: int) -> tuple[Grid, np.ndarray, np.ndarray]:
        """``(fine grid, q, j)`` with ψ and ∇ψ evaluated spectrally (trigonometric interpolation, exact for a
        band-limited ψ) at the centres of a grid ``factor`` times finer on each axis."""
        g = self.grid
        if factor == 1:
            return g, np.abs(psi) ** 2, self.current(psi)
        hat = sfft.fftn(psi, workers=FFT_WORKERS)
        fine_shape = tuple(factor * n for n in g.shape)
        big = np.zeros(fine_shape, dtype=np.complex128)
        index = []
        for n in g.shape:
            lo = np.arange((n + 1) // 2)  # non-negative frequencies (Nyquist dropped for even n)
            hi = np.arange(n // 2 + 1, n)  # negative frequencies
            index.append((lo, hi, factor * n - n + hi))
        shift = np.ones(g.shape, dtype=np.complex128)
        for a, k in enumerate(g.wavenumbers()):
            shape = [1] * g.dim
            shape[a] = -1
            delta = 0.5 * g.h[a] / factor - 0.5 * g.h[a]  # from the first coarse centre to the first fine one
            shift = shift * np.exp(1j * k * delta).reshape(shape)
        hat = hat * shift * (factor**g.dim)
        src = np.ix_(*[np.concatenate([lo, hi]) for lo, hi, _ in index])
        dst = np.ix_(*[np.concatenate([lo, big_hi]) for lo, _, big_hi in index])
        big[dst] = hat[src]
        fine = Grid(g.box, fine_shape, periodic=True)
        psi_f = sfft.ifftn(big, workers=FFT_WORKERS)
        conj = np.conj(psi_f)
        j = []
        ks = fine.wavenumbers()
        for a in range(g.dim):
            shape = [1] * g.dim
            shape[a] = -1
            grad = sfft.ifftn(big * (1j * ks[a]).reshape(shape), workers=FFT_WORKERS)
            j.append(np.imag(conj * grad))
        return fine, np.abs(psi_f) ** 2, (self.hbar / self.mass) * np.stack(j, axis=-1)

    def energy(self, psi: np.ndarray) -> float:
        """⟨H⟩ = ⟨T⟩ + ⟨V⟩ for the (not necessarily normalised) state on the grid."""
        hat = sfft.fftn(psi, workers=FFT_WORKERS)
        p_hat = np.abs(hat) ** 2
        p = np.abs(psi) ** 2
        kinetic = (self.hbar**2 / (2 * self.mass)) * float(np.sum(self.k2 * p_hat) / np.sum(p_hat))
        return kinetic + float(np.sum(self.V * p) / np.sum(p))

    def nyquist_ratio(self, psi: np.ndarray) -> float:
        """max |ψ̂| on the Nyquist planes (|k_a| maximal on some axis) relative to max |ψ̂|."""
        hat = np.abs(sfft.fftn(psi, workers=FFT_WORKERS))
        top = 0.0
        for a, n in enumerate(self.grid.shape):
            top = max(top, float(hat.take(n // 2, axis=a).max()))
        return top / float(hat.max())

    # -- imaginary time ---------------------------------------------------------------------------------------
    def relax(self, psi: np.ndarray, *, max_steps: int, tol: float = 1e-12, check_every: int = 20):
        """Imaginary-time relaxation from ``psi``: ``(ground state, energy, converged)``.

        Strang steps of size ``dt`` in imaginary time, renormalised each step; stops when the energy changes by
        less than ``tol·max(1, |E|)`` over ``check_every`` steps (the energy error is quadratic in the state's).
        """
        vmin = self.V.min()
        half = np.exp(-0.5 * self.dt / self.hbar * (self.V - vmin))
        kin = np.exp((-self.hbar * self.dt / (2 * self.mass)) * self.k2)
        cell = self.grid.cell_volume
        phi = np.asarray(psi, dtype=np.complex128).copy()
        energy = self.energy(phi)
        for s in range(1, max_steps + 1):
            phi *= half
            phi = sfft.ifftn(sfft.fftn(phi, overwrite_x=True, workers=FFT_WORKERS) * kin, overwrite_x=True,
                             workers=FFT_WORKERS)
            phi *= half
            phi /= np.sqrt(np.sum(np.abs(phi) ** 2) * cell)
            if s % check_every == 0:
                new = self.energy(phi)
                if abs(new - energy) < tol * max(1.0, abs(new)):
                    return phi, new, True
                energy = new
        return phi, self.energy(phi), False
