"""Adam (Kingma & Ba 2015) on a list of parameters, with ``torch._foreach`` kernels.

The same update as ``torch.optim.Adam`` (no weight decay, no amsgrad), written out because constructing
``torch.optim`` optimisers imports ``torch._dynamo``, which costs seconds at start-up (7 s on the 2-core CI
machine) for every fit, CLI call and test process. State: step count and first/second moments, as tensors.
"""

from __future__ import annotations

import math

import torch

__all__ = ["Adam"]


class Adam:
    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8):
        self.params = [p for p in params]
        self.lr, self.betas, self.eps = float(lr), (float(betas[0]), float(betas[1])), float(eps)
        self.step_count = 0
        self.m = [torch.zeros_like(p) for p in self.params]
        self.v = [torch.zeros_like(p) for p in self.params]

    def zero_grad(self):
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self):
        grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in self.params]
        b1, b2 = self.betas
        self.step_count += 1
        torch._foreach_lerp_(self.m, grads, 1 - b1)
        torch._foreach_mul_(self.v, b2)
        torch._foreach_addcmul_(self.v, grads, grads, 1 - b2)
        bias1 = 1 - b1 ** self.step_count
        bias2 = 1 - b2 ** self.step_count
        denom = torch._foreach_sqrt(self.v)
        torch._foreach_div_(denom, math.sqrt(bias2))
        torch._foreach_add_(denom, self.eps)
        torch._foreach_addcdiv_(self.params, self.m, denom, -self.lr / bias1)

    def state_dict(self) -> dict:
        return {"lr": self.lr, "betas": list(self.betas), "eps": self.eps, "step": self.step_count,
                "m": [t.detach().cpu().clone() for t in self.m], "v": [t.detach().cpu().clone() for t in self.v]}

    def load_state_dict(self, state: dict):
        if len(state["m"]) != len(self.params) or len(state["v"]) != len(self.params):
            raise ValueError(f"optimiser state has {len(state['m'])} tensors, the model {len(self.params)}")
        self.lr, self.betas, self.eps = float(state["lr"]), tuple(state["betas"]), float(state["eps"])
        self.step_count = int(state["step"])
        with torch.no_grad():
            for dst, src in zip(self.m + self.v, list(state["m"]) + list(state["v"])):
                if dst.shape != src.shape:
                    raise ValueError(f"optimiser state shape {tuple(src.shape)} != parameter {tuple(dst.shape)}")
                dst.copy_(src)
