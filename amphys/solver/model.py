"""The potential network s_θ(t, x) with its normalisation, and the derivatives the losses need
(docs/theory.md#normalisation-and-network).

Units. The user passes and gets physical units. Inside, time is τ = (t − t0)/T ∈ [0, 1] and space is
y = (x − m)/ℓ with m the data mean and ℓ = sqrt(mean_i σ_i²) one *isotropic* length (σ_i the per-coordinate
standard deviations). The network itself sees per-coordinate whitened inputs z = (x − m)/σ, which is only a
reparametrisation of the function class; the loss is computed in (τ, y), where the metric is the physical one up
to the scalar ℓ. Hence

    s_phys(t, x) = (ℓ²/T) · s(τ, y),    v_phys = ∇_x s_phys = (ℓ/T) · ∇_y s(τ, y).

(Whitening the loss per coordinate would change the metric of the kinetic energy, and with it the minimiser: for
anisotropic data the AM field in z-coordinates is not the gradient field in x; see docs/bench/solver.md.)

Network: MLP on (τ, sin kπτ, cos kπτ for k = 1..K, z), SiLU, ``depth`` hidden layers of width ``hidden``; the
last layer starts at zero (s = 0 at initialisation). Quadratic head: s = ½‖y − h(τ, z)‖² with h the MLP.
Optional gauge fixing (``centre``): s̃(τ, y) = s(τ, y) − s(τ, 0) removes any function of time from s exactly.
"""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["ActionNet", "ActionModel", "derivatives", "SiLUWithDerivative"]


class SiLUWithDerivative(torch.autograd.Function):
    """(silu(a), silu′(a)) in one kernel chain, with a hand-written backward using silu″.

    silu(a) = a σ(a); silu′ = σ + silu·(1 − σ); silu″ = σ(1 − σ)(2 + a(1 − 2σ)). Used by the explicit
    reverse pass of :meth:`ActionNet.value_and_grad`; about a third fewer elementwise kernels than autograd's
    double backward of SiLU. Differentiable once (enough for the AM loss; the entropic Laplacian uses autograd).
    """

    @staticmethod
    def forward(ctx, a):
        sig = torch.sigmoid(a)
        one_m = 1 - sig
        h = a * sig
        d = torch.addcmul(sig, h, one_m)
        ctx.save_for_backward(a, sig, one_m, d)
        return h, d

    @staticmethod
    def backward(ctx, grad_h, grad_d):
        a, sig, one_m, d = ctx.saved_tensors
        dd = sig * one_m
        dd.mul_((one_m - sig).mul_(a).add_(2))
        return (grad_h * d).addcmul_(grad_d, dd)


class ActionNet(nn.Module):
    """MLP (τ, z) -> R^out with Fourier time features.

    Inputs, in order: τ; sin kπτ, cos kπτ for k = 1..``time_features``; sin(Ω_jτ + φ_j), cos(Ω_jτ + φ_j) for the
    ``omegas`` Ω_j (angular frequencies in normalised time, φ_j their phases: the physical features sin(ω_j t),
    cos(ω_j t)); and the spatial input c(z), with c the identity or a compression of heavy tails
    (``input_map``): ``"radial"`` c(z) = z/(1 + ‖z‖/r0), ``"asinh"`` c(z) = r0·asinh(z/r0) per coordinate, with
    r0 = ``input_scale`` (in units of the whitened coordinates); with ``modulate``, also the products
    c(z)·sin(Ω_jτ + φ_j) and c(z)·cos(Ω_jτ + φ_j) (a rigidly rotating or oscillating field is then a function of
    coordinates the first layer forms exactly: the rotated frame x cos ωt + y sin ωt, ...); with ``periodic`` (and
    some Ω_j), τ and the sin/cos kπτ inputs are held at zero, so s is periodic in t with the given frequencies. The
    buffers of the options exist only when they are on, so models saved without them load unchanged.
    """

    def __init__(self, dim: int, hidden: int = 256, depth: int = 4, time_features: int = 4, out: int = 1, *,
                 omegas=None, phases=None, input_map: str = "none", input_scale: float = 1.0,
                 modulate: bool = False, periodic: bool = False):
        super().__init__()
        dt = torch.get_default_dtype()
        self.register_buffer("freqs", math.pi * torch.arange(1, time_features + 1, dtype=dt))
        n_omega = 0 if omegas is None else len(omegas)
        if n_omega:
            self.register_buffer("omegas", torch.as_tensor(omegas, dtype=dt).reshape(-1).clone())
            ph = torch.zeros(n_omega, dtype=dt) if phases is None else torch.as_tensor(phases, dtype=dt)
            self.register_buffer("phases", ph.reshape(-1).clone())
        else:
            self.omegas = self.phases = None
        if input_map not in ("none", "radial", "asinh"):
            raise ValueError(f"input_map must be 'none', 'radial' or 'asinh', got {input_map!r}")
        self.input_map = input_map
        if input_map != "none":
            self.register_buffer("input_scale", torch.tensor(float(input_scale), dtype=dt))
        self.modulate = bool(modulate) and n_omega > 0
        self.periodic = bool(periodic) and n_omega > 0  # time enters only through sin/cos(Ω_jτ + φ_j)
        width_in = 1 + 2 * time_features + 2 * n_omega + dim + (2 * n_omega * dim if self.modulate else 0)
        layers: list[nn.Module] = []
        for i in range(depth):
            layers += [nn.Linear(width_in if i == 0 else hidden, hidden), nn.SiLU()]
        last = nn.Linear(hidden if depth > 0 else width_in, out)
        nn.init.zeros_(last.weight)
        nn.init.zeros_(last.bias)
        layers.append(last)
        self.mlp = nn.Sequential(*layers)

    @property
    def n_omegas(self) -> int:
        return 0 if self.omegas is None else int(self.omegas.shape[0])

    def _time_inputs(self, t1: torch.Tensor) -> list[torch.Tensor]:
        """[τ, sin kπτ, cos kπτ, sin(Ωτ + φ), cos(Ωτ + φ)] for τ of shape (n, 1)."""
        arg = t1 * self.freqs
        parts = [t1, torch.sin(arg), torch.cos(arg)]
        if self.periodic:  # the inputs stay (the same weights and layout), the aperiodic ones held at zero
            parts = [torch.zeros_like(p) for p in parts]
        if self.omegas is not None:
            arg2 = torch.addcmul(self.phases, t1, self.omegas)
            parts += [torch.sin(arg2), torch.cos(arg2)]
        return parts

    def compress(self, z: torch.Tensor) -> torch.Tensor:
        """c(z), the spatial input of the MLP."""
        if self.input_map == "radial":
            rho = torch.linalg.vector_norm(z, dim=-1, keepdim=True) / self.input_scale
            return z / (1 + rho)
        if self.input_map == "asinh":
            return self.input_scale * torch.asinh(z / self.input_scale)
        return z

    def _pull_back(self, z: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        """∇_z from ∇_c: (∂c/∂z)ᵀ g (the Jacobian is symmetric for both maps)."""
        if self.input_map == "radial":
            r0 = self.input_scale
            norm = torch.linalg.vector_norm(z, dim=-1, keepdim=True)
            inv = 1 / (1 + norm / r0)
            zg = torch.sum(z * g, dim=-1, keepdim=True)
            return g * inv - z * (zg * inv * inv / (r0 * torch.clamp(norm, min=torch.finfo(z.dtype).tiny)))
        if self.input_map == "asinh":
            return g * torch.rsqrt(1 + (z / self.input_scale) ** 2)
        return g

    def _inputs(self, parts: list[torch.Tensor], c: torch.Tensor) -> torch.Tensor:
        """The MLP input: time parts, c(z) and, with ``modulate``, c(z)·sin_j and c(z)·cos_j (j major)."""
        ins = [*parts, c]
        if self.modulate:
            sn, cs = parts[3], parts[4]
            ins += [(sn[..., :, None] * c[..., None, :]).flatten(-2), (cs[..., :, None] * c[..., None, :]).flatten(-2)]
        return torch.cat(ins, dim=-1)

    def forward(self, tau: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        tau = tau[..., None]
        return self.mlp(self._inputs(self._time_inputs(tau), self.compress(z)))

    def value_and_grad(self, tau: torch.Tensor, z: torch.Tensor, n_grad: int | None = None):
        """(s, ∂_τ s, ∇_z s) of the scalar output by one forward and an explicit reverse pass (differentiable
        in the weights): g_{l−1} = (g_l ⊙ silu′(a_l)) W_l. Rows (n,), (m,), (m, d): the derivatives only for the
        first ``m = n_grad`` rows (all by default), so rows that need only s (boundary batches) cost a forward."""
        t1 = tau[:, None]
        parts = self._time_inputs(t1)
        c = self.compress(z)
        h = self._inputs(parts, c)
        linears = [m for m in self.mlp if isinstance(m, nn.Linear)]
        slopes = []
        for lin in linears[:-1]:
            h, d = SiLUWithDerivative.apply(torch.addmm(lin.bias, h, lin.weight.t()))
            slopes.append(d)
        last = linears[-1]
        s = torch.addmm(last.bias, h, last.weight.t())[:, 0]
        m = h.shape[0] if n_grad is None else n_grad
        g = last.weight.expand(m, -1)
        for lin, d in zip(reversed(linears[:-1]), reversed(slopes)):
            g = (g * d[:m]) @ lin.weight
        K = self.freqs.shape[0]
        sn, cs = parts[1][:m], parts[2][:m]
        ds_dtau = torch.sum((g[:, 1:K + 1] * cs - g[:, K + 1:2 * K + 1] * sn) * self.freqs, dim=-1)
        if not self.periodic:
            ds_dtau = ds_dtau + g[:, 0]
        J = self.n_omegas
        if J:
            a = 2 * K + 1
            sn2, cs2 = parts[3][:m], parts[4][:m]
            ds_dtau = ds_dtau + torch.sum((g[:, a:a + J] * cs2 - g[:, a + J:a + 2 * J] * sn2) * self.omegas, dim=-1)
        a = 2 * K + 2 * J + 1
        d = z.shape[1]
        gz = g[:, a:a + d]
        if self.modulate:
            sn2, cs2 = parts[3][:m, :, None], parts[4][:m, :, None]
            g_s = g[:, a + d:a + d + J * d].reshape(m, J, d)
            g_c = g[:, a + d + J * d:].reshape(m, J, d)
            gz = gz + torch.sum(g_s * sn2 + g_c * cs2, dim=1)
            ds_dtau = ds_dtau + torch.sum(torch.sum((g_s * cs2 - g_c * sn2) * c[:m, None, :], dim=-1) * self.omegas,
                                          dim=-1)
        return s, ds_dtau, self._pull_back(z[:m], gz)


class ActionModel(nn.Module):
    """s(τ, y) in normalised units, plus the physical-unit views ``potential`` and ``velocity``.

    Buffers (saved with the state dict): ``t0``, ``t_scale`` (T), ``mean`` (m, (d,)), ``std`` (σ, (d,)),
    ``length`` (ℓ), ``centre`` (0/1).
    """

    def __init__(self, dim: int, *, hidden: int = 256, depth: int = 4, time_features: int = 4,
                 quadratic_head: bool = False, centre: bool = False, t_span=(0.0, 1.0), mean=None, std=None,
                 time_frequencies=(), input_map: str = "none", input_scale: float = 1.0, modulate: bool = False,
                 time_basis: int = 0, periodic_time: bool = False):
        super().__init__()
        self.dim = int(dim)
        self.quadratic_head = bool(quadratic_head)
        t0, t1 = float(t_span[0]), float(t_span[1])
        if time_basis > 0:  # the time dependence in a basis of J smooth functions (amphys.solver.sieve)
            if len(time_frequencies) or input_map != "none" or modulate or periodic_time:
                from amphys.errors import InputError

                raise InputError("time_basis: the sieve network takes no time_frequencies, input_map, "
                                 "time_modulation or periodic_time; use one or the other")
            from amphys.solver.sieve import SieveNet

            self.net = SieveNet(dim, hidden, depth, time_basis)
        else:
            # physical features sin(ω t), cos(ω t) = sin(Ωτ + φ), cos(Ωτ + φ) with Ω = ωT, φ = ω t0 (mod 2π)
            omegas = [float(w) * (t1 - t0) for w in time_frequencies]
            phases = [math.remainder(float(w) * t0, 2 * math.pi) for w in time_frequencies]
            self.net = ActionNet(dim, hidden, depth, time_features, out=dim if quadratic_head else 1,
                                 omegas=omegas or None, phases=phases or None, input_map=input_map,
                                 input_scale=input_scale, modulate=modulate, periodic=periodic_time)
        dt = torch.get_default_dtype()
        mean = torch.zeros(dim, dtype=dt) if mean is None else torch.as_tensor(mean, dtype=dt)
        std = torch.ones(dim, dtype=dt) if std is None else torch.as_tensor(std, dtype=dt)
        self.register_buffer("t0", torch.tensor(t0, dtype=dt))
        self.register_buffer("t_scale", torch.tensor(t1 - t0, dtype=dt))
        self.register_buffer("mean", mean.clone())
        self.register_buffer("std", std.clone())
        self.register_buffer("length", torch.sqrt(torch.mean(std ** 2)))
        self.register_buffer("centre", torch.tensor(1.0 if centre else 0.0, dtype=dt))

    @classmethod
    def from_config(cls, config, dim: int, **kwargs) -> ActionModel:
        """The network of a :class:`~amphys.solver.config.FitConfig` (its width, depth, head, gauge and input
        representation); ``kwargs``: ``t_span``, ``mean``, ``std``. The representation fields must be resolved
        (explicit frequencies and map): an unresolved "auto" means off, as for models saved before they existed."""
        freqs = config.time_frequencies
        return cls(dim, hidden=config.hidden, depth=config.depth, time_features=config.time_features,
                   quadratic_head=config.quadratic_head, centre=config.centre,
                   time_frequencies=() if isinstance(freqs, str) else tuple(freqs),
                   input_map=config.input_map if config.input_map != "auto" else "none",
                   input_scale=config.input_scale, modulate=config.time_modulation, time_basis=config.time_basis,
                   periodic_time=config.periodic_time,
                   **kwargs)

    # -- normalised units ------------------------------------------------------------------------------------
    def forward(self, tau: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """s(τ, y), shape (n,) (not centred; see :meth:`s_centred`)."""
        z = y * (self.length / self.std)
        out = self.net(tau, z)
        if self.quadratic_head:
            return 0.5 * torch.sum((y - out) ** 2, dim=-1)
        return out[..., 0]

    @property
    def is_centred(self) -> bool:
        return bool(self.centre.item() > 0.5)

    @property
    def has_fused_derivatives(self) -> bool:
        return not self.quadratic_head

    def value_and_grad(self, tau: torch.Tensor, y: torch.Tensor, n_grad: int | None = None):
        """(s, ∂_τ s, ∇_y s) by the network's explicit reverse pass (scalar head only); derivatives for the
        first ``n_grad`` rows."""
        scale = self.length / self.std
        s, ds, gz = self.net.value_and_grad(tau, y * scale, n_grad)
        return s, ds, gz * scale

    def s_centred(self, tau: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        s = self(tau, y)
        if self.is_centred:
            s = s - self(tau, torch.zeros_like(y))
        return s

    def normalise(self, t: torch.Tensor, x: torch.Tensor):
        """(t, x) physical -> (τ, y)."""
        return (t - self.t0) / self.t_scale, (x - self.mean) / self.length

    @property
    def potential_scale(self) -> torch.Tensor:
        """ℓ²/T: s_phys = scale · s."""
        return self.length ** 2 / self.t_scale

    @property
    def velocity_scale(self) -> torch.Tensor:
        """ℓ/T: v_phys = scale · ∇_y s."""
        return self.length / self.t_scale

    # -- physical units --------------------------------------------------------------------------------------
    def potential(self, t: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """s_phys(t, x), shape (n,); ``t`` of shape (n,)."""
        tau, y = self.normalise(t, x)
        return self.potential_scale * self.s_centred(tau, y)

    def velocity(self, t: torch.Tensor, x: torch.Tensor, *, create_graph: bool = False) -> torch.Tensor:
        """v_phys(t, x) = ∇_x s_phys, shape (n, d); ``t`` of shape (n,)."""
        tau, y = self.normalise(t, x)
        with torch.enable_grad():
            y = y.detach().requires_grad_(True)
            s = self(tau.detach(), y)
            (g,) = torch.autograd.grad(s.sum(), y, create_graph=create_graph)
        return self.velocity_scale * g


def derivatives(fn, t: torch.Tensor, x: torch.Tensor, *, create_graph: bool = True, laplacian: str | None = None,
                probes: torch.Tensor | None = None, mode: str = "autograd", n_grad: int | None = None):
    """s, ∂_t s, ∇_x s (and Δ_x s) of a scalar field ``fn(t, x) -> (n,)`` at rows ``t`` (n,), ``x`` (n, d).

    One batched forward and one reverse pass give ∂_t s and ∇_x s together (rows are independent, so the
    gradient of Σ_i s_i is the per-row gradient). ``laplacian``: None, ``"exact"`` (d more reverse passes) or
    ``"hutchinson"`` with ``probes`` (k, n, d) of Rademacher signs: Δs ≈ mean_k ε_kᵀ(∇²s)ε_k.
    ``mode="func"`` uses ``torch.func.vmap(grad_and_value)`` instead (same numbers); ``mode="fused"`` calls
    ``fn.value_and_grad(t, x)`` (an :class:`ActionModel` with a scalar head) when no Laplacian is asked for, and
    falls back to autograd otherwise. ``n_grad``: only the first n_grad rows need derivatives (the fused path
    skips the others; the other paths compute all rows and slice).
    Returns ``(s, ds_dt, grad, lap)`` with s for all rows and the rest for the first n_grad rows.
    """
    need_graph = create_graph or laplacian is not None
    if mode == "fused" and laplacian is None and getattr(fn, "has_fused_derivatives", False):
        if create_graph:
            return (*fn.value_and_grad(t, x, n_grad), None)
        with torch.no_grad():
            return (*fn.value_and_grad(t, x, n_grad), None)
    if n_grad is not None:
        s, ds, g, lap = derivatives(fn, t, x, create_graph=create_graph, laplacian=laplacian, probes=probes,
                                    mode=mode)
        return s, ds[:n_grad], g[:n_grad], None if lap is None else lap[:n_grad]
    if mode == "func":
        return _derivatives_func(fn, t, x, create_graph=create_graph, laplacian=laplacian, probes=probes)
    with torch.enable_grad():
        t = t.detach().requires_grad_(True)
        x = x.detach().requires_grad_(True)
        s = fn(t, x)
        ds_dt, grad = torch.autograd.grad(s.sum(), (t, x), create_graph=need_graph)
        lap = None
        if laplacian == "exact":
            lap = sum(torch.autograd.grad(grad[:, i].sum(), x, create_graph=create_graph, retain_graph=True)[0][:, i]
                      for i in range(x.shape[1]))
        elif laplacian == "hutchinson":
            lap = 0.0
            for eps in probes:
                (hv,) = torch.autograd.grad((grad * eps).sum(), x, create_graph=create_graph, retain_graph=True)
                lap = lap + (hv * eps).sum(-1)
            lap = lap / probes.shape[0]
        elif laplacian is not None:
            raise ValueError(f"laplacian must be None, 'exact' or 'hutchinson', got {laplacian!r}")
    if not create_graph:
        s, ds_dt, grad = s.detach(), ds_dt.detach(), grad.detach()
        lap = None if lap is None else lap.detach()
    return s, ds_dt, grad, lap


def _derivatives_func(fn, t, x, *, create_graph, laplacian, probes):
    # reverse-over-reverse only (forward-mode AD in torch 2.x emits deprecation warnings from torch.jit)
    from torch.func import grad, grad_and_value, jacrev, vmap

    def single(ti, xi):
        return fn(ti[None], xi[None])[0]

    (ds_dt, g), s = vmap(grad_and_value(single, argnums=(0, 1)))(t, x)
    lap = None
    if laplacian == "exact":
        hess = vmap(jacrev(grad(single, argnums=1), argnums=1))(t, x)
        lap = torch.diagonal(hess, dim1=-2, dim2=-1).sum(-1)
    elif laplacian == "hutchinson":
        def hvp(ti, xi, ei):  # H ε = ∇_x (∇_x s · ε), H symmetric
            return grad(lambda xx: torch.dot(grad(single, argnums=1)(ti, xx), ei))(xi)

        lap = 0.0
        for eps in probes:
            lap = lap + (vmap(hvp)(t, x, eps) * eps).sum(-1)
        lap = lap / probes.shape[0]
    elif laplacian is not None:
        raise ValueError(f"laplacian must be None, 'exact' or 'hutchinson', got {laplacian!r}")
    if not create_graph:
        s, ds_dt, g = s.detach(), ds_dt.detach(), g.detach()
        lap = None if lap is None else lap.detach()
    return s, ds_dt, g, lap
