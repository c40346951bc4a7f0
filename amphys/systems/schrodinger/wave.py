"""Wavefunction states: the protocol the analytic Schrödinger systems share, and the system built on one.

A state is a wavefunction ψ(x, t) that solves iħ∂_tψ = −(ħ²/2m)Δψ + Vψ exactly. Its density is q = |ψ|²; the
continuity equation ∂_t q + ∇·j = 0 holds with the current j = (ħ/m) Im(ψ̄∇ψ), and the Bohmian velocity
v = j/q = (ħ/m) Im(∇ψ/ψ) = (ħ/m)∇arg ψ away from nodes is a gradient, with potential s* = (ħ/m) arg ψ, wherever
arg ψ has a single-valued branch on the support (no vortices; docs/theory.md#schrodinger).

:class:`WaveState` declares what a state gives; :class:`WavefunctionSystem` is the :class:`~amphys.systems.System`
over one (``gaussian-packet``, ``harmonic``, ``hydrogen``); :class:`Rescaled` changes the length unit of a state in
units with ħ = m = 1 (``hydrogen``'s ``bohr_radius``).
"""

from __future__ import annotations

import abc

import numpy as np

from amphys.systems.base import System

__all__ = ["WaveState", "WavefunctionSystem", "Rescaled", "node_safe_divide", "node_distance"]


class WaveState(abc.ABC):
    """A wavefunction ψ(x, t) with its density, Bohmian velocity and an exact sampler of |ψ|².

    Methods receive checked values: ``t`` a float, ``x`` a float64 array of shape ``(n, dim)``, ``n >= 0``, ``rng``
    a ``numpy.random.Generator``; they return arrays of shape ``(n,)`` or ``(n, dim)`` (``sample``).
    """

    #: Number of space dimensions.
    dim: int
    #: Whether the Bohmian velocity is a gradient on the support (False where ψ has vortices).
    velocity_is_gradient: bool = True

    @abc.abstractmethod
    def psi(self, t: float, x: np.ndarray) -> np.ndarray:
        """ψ(x, t), complex, including its time-dependent phase."""

    @abc.abstractmethod
    def log_density(self, t: float, x: np.ndarray) -> np.ndarray:
        """log |ψ(x, t)|², ``-inf`` on nodes."""

    @abc.abstractmethod
    def velocity(self, t: float, x: np.ndarray) -> np.ndarray:
        """Bohmian velocity (ħ/m) Im(∇ψ/ψ); 0 on a node, where it is undefined (j = 0 there)."""

    @abc.abstractmethod
    def sample(self, t: float, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` exact samples of |ψ(·, t)|²."""

    def potential(self, t: float, x: np.ndarray) -> np.ndarray:
        """s* = (ħ/m) arg ψ on a continuous branch (up to a function of t), where the state has one."""
        raise NotImplementedError

    def node_distance(self, t: float, x: np.ndarray) -> np.ndarray:
        """Distance to a zero of ψ(·, t) (:func:`node_distance` on ψ); a state that knows its node set better
        overrides this."""
        return node_distance(lambda y: self.psi(t, y), x)

    @property
    def has_potential(self) -> bool:
        """True when :meth:`potential` is given (the state has no vortices)."""
        return type(self).potential is not WaveState.potential


def node_safe_divide(num, den):
    """num/den with 0 where den == 0: the Bohmian velocity j/q is undefined on a node, where j = 0 too.

    ``den`` has shape (n,), ``num`` (n,) or (n, d). Returning 0 there keeps j = q v exact and keeps NaN out of
    grid sums (a grid may hit a node exactly).
    """
    safe = np.where(den > 0, den, 1.0)
    return num / (safe if np.ndim(num) == 1 else safe[:, None])


def node_distance(psi, x: np.ndarray, *, iterations: int = 25, tol: float = 1e-8) -> np.ndarray:
    """Distance from each point of ``x`` (n, d) to a zero of the complex function ``psi(x) -> (n,)``, found by
    Gauss–Newton on (Re ψ, Im ψ) from the point itself: x ← x − J⁺(Re ψ, Im ψ), J the 2×d Jacobian by central
    differences, J⁺ its pseudo-inverse (rank 1 on a nodal surface ψ = f·e^{iγ}, rank 2 near a vortex line or
    point). For points near the node set this is the distance to the nearest zero to first order. A point counts
    as converged when its last step is below ``tol`` times its distance scale and |ψ| has fallen by 10⁻⁶ (a
    simple zero converges quadratically; an iteration that runs into the tail keeps taking steps of about
    1/|∇log ψ|). Where it does not converge (far from every node) the distance is ``inf``.
    """
    x = np.asarray(x, dtype=np.float64)
    n, d = x.shape
    y = x.copy()
    f0 = np.abs(psi(x))
    done = f0 == 0
    for _ in range(iterations):
        active = np.flatnonzero(~done)
        if active.size == 0:
            break
        ya = y[active]
        val = psi(ya)
        scale = 1.0 + np.sqrt(np.sum(ya * ya, axis=1))
        h = 1e-6 * scale
        jac = np.empty((active.size, 2, d))
        for a in range(d):
            step = np.zeros(d)
            step[a] = 1.0
            diff = (psi(ya + h[:, None] * step) - psi(ya - h[:, None] * step)) / (2.0 * h[:, None])[:, 0]
            jac[:, 0, a], jac[:, 1, a] = diff.real, diff.imag
        res = np.stack([val.real, val.imag], axis=1)
        with np.errstate(all="ignore"):
            delta = np.einsum("nij,nj->ni", np.linalg.pinv(jac, rcond=1e-10), res)
        ok = np.all(np.isfinite(delta), axis=1)
        y[active[ok]] = ya[ok] - delta[ok]
        converged = ok & (np.sqrt(np.sum(delta * delta, axis=1)) <= tol * scale) \
            & (np.abs(val) <= 1e-6 * f0[active])
        done[active[converged]] = True
        done[active[~ok]] = True      # no direction to go: mark as far (below)
        y[active[~ok]] = np.inf
    out = np.sqrt(np.sum((y - x) ** 2, axis=1))
    out[~done] = np.inf
    return np.where(np.isfinite(out), out, np.inf)


class Rescaled(WaveState):
    """``state`` with lengths in units of ``a`` (ħ = m = 1 fixed): ψ_a(x, t) = a^{-d/2} ψ(x/a, t/a²).

    Times scale by a², velocities by 1/a, densities by a^{-d}; the phase s* is unchanged.
    """

    def __init__(self, state: WaveState, a: float):
        self.state, self.a, self.dim = state, float(a), state.dim
        self.velocity_is_gradient = state.velocity_is_gradient

    def _inner(self, t, x):
        return t / (self.a * self.a), x / self.a

    def psi(self, t, x):
        return self.state.psi(*self._inner(t, x)) * self.a ** (-0.5 * self.dim)

    def log_density(self, t, x):
        return self.state.log_density(*self._inner(t, x)) - self.dim * np.log(self.a)

    def velocity(self, t, x):
        return self.state.velocity(*self._inner(t, x)) / self.a

    def sample(self, t, n, rng):
        return self.state.sample(t / (self.a * self.a), n, rng) * self.a

    def potential(self, t, x):
        return self.state.potential(*self._inner(t, x))

    def node_distance(self, t, x):
        return self.state.node_distance(*self._inner(t, x)) * self.a

    @property
    def has_potential(self) -> bool:
        return self.state.has_potential


class WavefunctionSystem(System):
    """Abstract: a system whose ground truth is a :class:`WaveState`, ``self.wave``, which ``_setup`` builds.

    q_t = |ψ|², the physical velocity is the Bohmian one, and the AM target and potential are the state's where
    it has no vortices; where it has, ``am_velocity`` and ``am_potential`` raise and the target is the gradient
    projection (``amphys.diagnostics.project_gradient``).
    """

    @property
    def velocity_is_gradient(self) -> bool:
        return self.wave.velocity_is_gradient

    def psi(self, t, x) -> np.ndarray:
        """The wavefunction ψ(x, t), complex, shape ``(n,)``."""
        return self.wave.psi(*self._checked(t, x))

    def node_distance(self, t, x) -> np.ndarray:
        """Distance from each point to a zero of ψ(·, t) (a nodal surface, vortex line or point), shape ``(n,)``:
        Gauss–Newton from the point (:func:`node_distance`), exact to first order near the node set; ``inf``
        where no zero is reached (far from every node)."""
        return self.wave.node_distance(*self._checked(t, x))

    def _sample(self, t, n, rng):
        return self.wave.sample(t, n, rng)

    def _log_density(self, t, x):
        return self.wave.log_density(t, x)

    def _velocity(self, t, x):
        return self.wave.velocity(t, x)

    def _am_potential(self, t, x):
        if not self.wave.has_potential:
            state = getattr(self, "state", None)
            raise NotImplementedError(
                f"system {self.name!r}{f' in state {state!r}' if state else ''} has vortices: its Bohmian velocity "
                "is not a gradient and the AM potential has no closed form; use "
                "amphys.diagnostics.project_gradient(system, t)")
        return self.wave.potential(t, x)

    @property
    def has_am_potential(self) -> bool:
        return self.wave.has_potential
