"""A network whose time dependence lives in a fixed smooth basis of J functions (a sieve in time).

s(τ, z) = Σ_{j=1..J} φ_j(τ) h_j(z), with h: R^d → R^J an MLP of the position only and φ_j normalised Gaussian
bumps at J evenly spaced centres in [0, 1] (width = their spacing; φ_j ≥ 0, Σ_j φ_j = 1). With J below the
number of snapshots, s cannot follow the snapshot-to-snapshot noise: information is pooled across about K/J
snapshots in time (docs/theory.md#learning-from-snapshots). J = 1 is a potential constant in time.

``value_and_grad`` gives (s, ∂_τ s, ∇_z s) with one forward of h and an explicit reverse pass seeded by
φ(τ)ᵀW_last per row, the same cost as :class:`~amphys.solver.model.ActionNet`'s.
"""

from __future__ import annotations

import torch
from torch import nn

from amphys.solver.model import SiLUWithDerivative

__all__ = ["SieveNet", "time_basis"]


def time_basis(tau: torch.Tensor, centres: torch.Tensor, width: float):
    """(φ (n, J), dφ/dτ (n, J)) of the normalised Gaussian bumps at ``centres`` with ``width``."""
    u = (tau[:, None] - centres[None, :]) / width
    k = torch.exp(-0.5 * u * u)
    dk = -u / width * k
    total, dtotal = k.sum(dim=1, keepdim=True), dk.sum(dim=1, keepdim=True)
    phi = k / total
    return phi, (dk * total - k * dtotal) / (total * total)


class SieveNet(nn.Module):
    """MLP z -> R^J (``depth`` SiLU layers of width ``hidden``, last layer zero) combined by the time basis."""

    def __init__(self, dim: int, hidden: int, depth: int, n_basis: int):
        super().__init__()
        J = int(n_basis)
        self.register_buffer("centres", torch.linspace(0.0, 1.0, J) if J > 1 else torch.tensor([0.5]))
        self.width = 1.0 / max(J - 1, 1)
        layers: list[nn.Module] = []
        width_in = dim
        for _ in range(depth):
            layers += [nn.Linear(width_in, hidden), nn.SiLU()]
            width_in = hidden
        last = nn.Linear(width_in, J)
        nn.init.zeros_(last.weight)
        nn.init.zeros_(last.bias)
        layers.append(last)
        self.mlp = nn.Sequential(*layers)

    def forward(self, tau: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        phi, _ = time_basis(tau.reshape(-1), self.centres.to(z.dtype), self.width)
        return torch.sum(phi * self.mlp(z), dim=-1, keepdim=True)

    def value_and_grad(self, tau: torch.Tensor, z: torch.Tensor, n_grad: int | None = None):
        """(s, ∂_τ s, ∇_z s); the derivatives for the first ``n_grad`` rows (all by default)."""
        phi, dphi = time_basis(tau, self.centres.to(z.dtype), self.width)
        linears = [m for m in self.mlp if isinstance(m, nn.Linear)]
        h, slopes = z, []
        for lin in linears[:-1]:
            h, d = SiLUWithDerivative.apply(torch.addmm(lin.bias, h, lin.weight.t()))
            slopes.append(d)
        last = linears[-1]
        out = torch.addmm(last.bias, h, last.weight.t())  # (n, J)
        s = torch.sum(phi * out, dim=1)
        m = h.shape[0] if n_grad is None else n_grad
        ds = torch.sum(dphi[:m] * out[:m], dim=1)
        g = phi[:m] @ last.weight  # (m, hidden): ∂s/∂h of each row
        for lin, d in zip(reversed(linears[:-1]), reversed(slopes)):
            g = (g * d[:m]) @ lin.weight
        return s, ds, g
