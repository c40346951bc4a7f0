"""The two hydrogen superpositions of ``hydrogen``, in atomic units (docs/theory.md#schrodinger).

Each state is ψ = (ψ_A e^{-iE_A t} + e^{iφ} ψ_B e^{-iE_B t})/√2 with real-radial eigenstates ψ_A, ψ_B and a
relative phase φ. The classes evaluate in forms that stay finite far out (common exponential factors pulled
out) and provide an exact envelope sampler: the proposal is ½|ψ_A|² + ½|ψ_B|² (each separable in r, cos θ, φ,
drawn exactly), accepted with probability |ψ|²/(|ψ_A|² + |ψ_B|²) <= 1; the acceptance is ½.
"""

from __future__ import annotations

import abc

import numpy as np

from amphys.systems.schrodinger.wave import WaveState, node_distance, node_safe_divide

__all__ = ["PaperState", "S2pzState", "energy"]


def energy(n: int) -> float:
    """E_n = -1/(2n²) hartree."""
    return -0.5 / n ** 2


def _spherical_to_cartesian(r, u, phi):
    s = r * np.sqrt(np.clip(1.0 - u * u, 0.0, None))
    return np.stack([s * np.cos(phi), s * np.sin(phi), r * u], axis=1)


def _draw_3d_m1(m, rng):
    """|ψ_{3,2,-1}|²: r ~ Gamma(7, 3/2); cos θ = ±sqrt(Beta(3/2, 2)) (density ∝ u²(1-u²)); φ uniform."""
    r = 1.5 * rng.standard_gamma(7.0, m)
    u = np.sqrt(rng.beta(1.5, 2.0, m)) * np.where(rng.random(m) < 0.5, -1.0, 1.0)
    return _spherical_to_cartesian(r, u, rng.uniform(0.0, 2.0 * np.pi, m))


def _draw_2pz(m, rng):
    """|ψ_{2,1,0}|²: r ~ Gamma(5, 1); cos θ = ±U^{1/3} (density ∝ u²); φ uniform."""
    r = rng.standard_gamma(5.0, m)
    u = np.cbrt(rng.uniform(-1.0, 1.0, m))
    return _spherical_to_cartesian(r, u, rng.uniform(0.0, 2.0 * np.pi, m))


def _draw_1s(m, rng):
    """|ψ_{1,0,0}|²: r ~ Gamma(3, 1/2); uniform direction."""
    r = 0.5 * rng.standard_gamma(3.0, m)
    return _spherical_to_cartesian(r, rng.uniform(-1.0, 1.0, m), rng.uniform(0.0, 2.0 * np.pi, m))


def _radius_and_unit(x):
    r = np.sqrt(np.sum(x * x, axis=1))
    safe = np.where(r > 0, r, 1.0)
    return r, x / safe[:, None]           # r̂ = 0 at the origin (where the cusp leaves ∇r undefined)


class _TwoState(WaveState):
    """Abstract: (ψ_A e^{-iE_A t} + e^{iφ} ψ_B e^{-iE_B t})/√2 with an envelope sampler; a final state gives the
    energies, exact draws from |ψ_A|² and |ψ_B|² and the acceptance |ψ|²/(|ψ_A|² + |ψ_B|²)."""

    E_A: float
    E_B: float
    dim = 3

    def __init__(self, relative_phase: float):
        self.phase = float(relative_phase)

    @abc.abstractmethod
    def accept(self, t, x):
        """Acceptance probability |ψ(x, t)|²/(|ψ_A(x)|² + |ψ_B(x)|²) of proposals ``x``."""

    def sample(self, t, n, rng, batch=1 << 20):
        out = np.empty((n, 3))
        filled = 0
        while filled < n:
            m = min(int(2.1 * (n - filled)) + 64, batch)
            from_a = rng.random(m) < 0.5
            x = np.empty((m, 3))
            x[from_a] = self.draw_a(int(from_a.sum()), rng)
            x[~from_a] = self.draw_b(m - int(from_a.sum()), rng)
            keep = rng.random(m) < self.accept(t, x)
            take = min(int(keep.sum()), n - filled)
            out[filled:filled + take] = x[keep][:take]
            filled += take
        return out


class PaperState(_TwoState):
    r"""ψ = (ψ_{3,2,-1} e^{-iE_3 t} + e^{iφ} ψ_{2,1,0} e^{-iE_2 t})/√2 (Condon–Shortley), atomic units.

    ψ_{3,2,-1} = C_A (x - iy) z e^{-r/3}, C_A = 1/(81√π); ψ_{2,1,0} = C_B z e^{-r/2}, C_B = 1/√(32π).
    Factoring out the common z e^{-r/3}: ψ = (z/√2) e^{-r/3} h with
    h = C_A (x - iy) e^{-iE_3 t} + C_B e^{iφ} e^{-iE_2 t} e^{-r/6}, so log q = log z² - 2r/3 + log|h|² - log 2
    and v = Im(∇h/h) (the real factor z e^{-r/3} carries no phase; v is smooth across the nodal plane z = 0),
    ∇h = C_A e^{-iE_3 t}(1, -i, 0) - (C_B/6) e^{iφ} e^{-iE_2 t} e^{-r/6} r̂. h = 0 on the vortex lines.
    """

    E_A, E_B = energy(3), energy(2)
    velocity_is_gradient = False      # vortex lines where h = 0
    C_A = 1.0 / (81.0 * np.sqrt(np.pi))
    C_B = 1.0 / np.sqrt(32.0 * np.pi)
    draw_a = staticmethod(_draw_3d_m1)
    draw_b = staticmethod(_draw_2pz)

    def _h(self, t, x, r):
        a = self.C_A * np.exp(-1j * self.E_A * t) * (x[:, 0] - 1j * x[:, 1])
        b = self.C_B * np.exp(1j * (self.phase - self.E_B * t)) * np.exp(-r / 6.0)
        return a + b, b

    def psi(self, t, x):
        r = np.sqrt(np.sum(x * x, axis=1))
        h, _ = self._h(t, x, r)
        return x[:, 2] * np.exp(-r / 3.0) * h / np.sqrt(2.0)

    def log_density(self, t, x):
        r = np.sqrt(np.sum(x * x, axis=1))
        h, _ = self._h(t, x, r)
        with np.errstate(divide="ignore"):
            return np.log(x[:, 2] ** 2) - 2.0 * r / 3.0 + np.log(np.abs(h) ** 2) - np.log(2.0)

    def velocity(self, t, x):
        r, rhat = _radius_and_unit(x)
        h, b = self._h(t, x, r)
        grad = (self.C_A * np.exp(-1j * self.E_A * t)) * np.array([1.0, -1j, 0.0])[None, :] \
            - (b / 6.0)[:, None] * rhat
        return node_safe_divide(np.imag(grad * np.conj(h)[:, None]), np.abs(h) ** 2)

    def node_distance(self, t, x):
        """min(|z|, distance to a vortex line): the nodal plane z = 0 exactly, the lines (zeros of h) by
        Gauss–Newton on h, which has no exponential envelope to run into."""
        lines = node_distance(lambda y: self._h(t, y, np.sqrt(np.sum(y * y, axis=1)))[0], x)
        return np.minimum(np.abs(x[:, 2]), lines)

    def accept(self, t, x):
        r = np.sqrt(np.sum(x * x, axis=1))
        h, _ = self._h(t, x, r)
        env = self.C_A ** 2 * (x[:, 0] ** 2 + x[:, 1] ** 2) + self.C_B ** 2 * np.exp(-r / 3.0)
        return 0.5 * np.abs(h) ** 2 / env


class S2pzState(_TwoState):
    r"""ψ = (φ_1s e^{-iE_1 t} + e^{iφ} φ_2pz e^{-iE_2 t})/√2, atomic units (docs/theory.md#schrodinger).

    φ_1s = e^{-r}/√π, φ_2pz = z e^{-r/2}/√(32π); u = φ_2pz/φ_1s = z e^{r/2}/(4√2), θ = φ - Δt,
    Δ = E_2 - E_1 = 3/8.
    q = e^{-2r}(1 + u² + 2u cos θ)/(2π); s* = arg(1 + u e^{iθ}) = -atan2(u sin(Δt - φ), 1 + u cos(Δt - φ));
    v = ∇s* = sin θ ∇u/(1 + u² + 2u cos θ), ∇u = (e^{r/2}/(4√2))(ẑ + z r̂/2). Evaluated with w = e^{-r/2} and
    k = z/(4√2) (numerator and denominator multiplied by w²), so nothing overflows far out.
    """

    E_A, E_B = energy(1), energy(2)
    draw_a = staticmethod(_draw_1s)
    draw_b = staticmethod(_draw_2pz)

    @property
    def delta(self) -> float:
        return self.E_B - self.E_A

    def _parts(self, t, x):
        r = np.sqrt(np.sum(x * x, axis=1))
        w = np.exp(-0.5 * r)
        k = x[:, 2] / (4.0 * np.sqrt(2.0))
        theta = self.phase - self.delta * t
        return r, w, k, theta

    def psi(self, t, x):
        r = np.sqrt(np.sum(x * x, axis=1))
        a = np.exp(-r - 1j * self.E_A * t) / np.sqrt(np.pi)
        b = x[:, 2] * np.exp(-0.5 * r + 1j * (self.phase - self.E_B * t)) / np.sqrt(32.0 * np.pi)
        return (a + b) / np.sqrt(2.0)

    def log_density(self, t, x):
        r, w, k, theta = self._parts(t, x)
        with np.errstate(divide="ignore"):
            return -r - np.log(2.0 * np.pi) + np.log(w * w + k * k + 2.0 * w * k * np.cos(theta))

    def velocity(self, t, x):
        r, w, k, theta = self._parts(t, x)
        _, rhat = _radius_and_unit(x)
        g = (np.array([0.0, 0.0, 1.0])[None, :] + 0.5 * x[:, 2:3] * rhat) / (4.0 * np.sqrt(2.0))
        denom = w * w + k * k + 2.0 * w * k * np.cos(theta)
        return node_safe_divide(np.sin(theta) * w, denom)[:, None] * g

    def potential(self, t, x):
        _, w, k, theta = self._parts(t, x)
        return np.arctan2(k * np.sin(theta), w + k * np.cos(theta))

    def accept(self, t, x):
        _, w, k, theta = self._parts(t, x)
        return 0.5 * (w * w + k * k + 2.0 * w * k * np.cos(theta)) / (w * w + k * k)
