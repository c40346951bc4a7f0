"""The rows of the snapshots benchmark: how each method is trained on the same snapshots and scored.

Every learned row gets the same data, seed, network width/depth, optimiser steps and rows per step (the scale's
``net``); what differs is the method:

- ``default``: :func:`amphys.fit` with its defaults (the path chosen from the data);
- ``mixture``: the previous behaviour, ``interpolant="mixture", knot_stride=1, holdout_ties=0`` (AM on the
  mixture path through consecutive snapshots, weights of the lowest held-out loss);
- ``exact``: AM with exact samples between snapshots (``sampler=system``), the upper reference;
- ``cfm``: amphys's minibatch-OT conditional flow matching baseline (:func:`amphys.baselines.fit_flow_matching`);
- ``torchcfm``: the published ``torchcfm`` package (``ExactOptimalTransportConditionalFlowMatcher``, σ = 0),
  trained as its single-cell example does (pairs of consecutive snapshots, minibatch OT inside the matcher,
  Adam at a constant learning rate, no EMA, time in snapshot-index units), on standardised coordinates, with the
  same MLP size, steps and rows per step (``pairs_per_step`` pairs a step, like ``cfm``); only when importable;
- ``ensemble``: the default with ``ensemble=4`` (4× the training cost), for the error bar's calibration;
- parametric floors (:mod:`amphys.bench.parametric`): methods told the family of the answer.
"""

from __future__ import annotations

import time

import numpy as np

__all__ = ["LEARNED", "fit_row", "torchcfm_available"]

LEARNED = ("default", "mixture", "exact", "cfm", "torchcfm", "ensemble")


def torchcfm_available() -> bool:
    try:
        import torchcfm  # noqa: F401
    except ImportError:
        return False
    return True


class _Field:
    """A velocity callable with ``push`` by RK4 (parametric rows)."""

    def __init__(self, velocity, steps: int = 200):
        self.velocity, self.steps = velocity, steps

    def __call__(self, t, x):
        return self.velocity(t, x)

    def push(self, x0, t0, times):
        from amphys.diagnostics.fields import rk4_push

        return rk4_push(self.velocity, np.asarray(x0, dtype=np.float64), float(t0), times, n_steps=self.steps)


def fit_row(row: str, system, data, times, xs, net: dict, *, seed: int):
    """Train ``row`` on the snapshots: (model with velocity/push, training seconds, status, note)."""
    from amphys.workflows.fitting import fit

    start = time.perf_counter()
    if row in ("default", "mixture", "exact", "ensemble"):
        # "mixture": the behaviour before the snapshot estimator (consecutive knots, strictly the lowest held-out loss)
        extra = {"mixture": {"interpolant": "mixture", "knot_stride": 1, "holdout_ties": 0.0},
                 "ensemble": {"ensemble": 4}}.get(row, {})
        model = fit(data, sampler=system if row == "exact" else None, seed=seed, progress=False, **net, **extra)
        return model, time.perf_counter() - start, str(model.status), model.message
    if row == "cfm":
        from amphys.baselines import fit_flow_matching

        res = fit_flow_matching(times, xs, seed=seed, progress=False, **net)
        return res, time.perf_counter() - start, str(res.status), ""
    if row == "torchcfm":
        model = _fit_torchcfm(times, xs, net, seed=seed)
        return model, time.perf_counter() - start, "converged", "torchcfm " + _torchcfm_version()
    from amphys.bench.parametric import FLOORS

    family = FLOORS.get(system.name, {})
    if row not in family:
        raise KeyError(row)
    return _Field(family[row](times, xs)), time.perf_counter() - start, "converged", ""


def _torchcfm_version() -> str:
    import torchcfm

    return getattr(torchcfm, "__version__", "?")


class _TorchCFM:
    """A trained torchcfm velocity network seen in the user's units (standardised inputs, index time)."""

    def __init__(self, net, times, mean, std):
        self.net, self.times, self.mean, self.std = net, np.asarray(times), mean, std

    def _index_time(self, t):
        return float(np.interp(float(t), self.times, np.arange(self.times.size)))

    def _dt_per_index(self, t) -> float:
        k = int(np.clip(np.searchsorted(self.times, float(t), side="right") - 1, 0, self.times.size - 2))
        return float(self.times[k + 1] - self.times[k])

    def velocity(self, t, x):
        import torch

        y = torch.as_tensor((np.asarray(x, dtype=np.float64) - self.mean) / self.std, dtype=torch.float32)
        s = torch.full((y.shape[0], 1), self._index_time(t), dtype=torch.float32)
        with torch.no_grad():
            v = self.net(torch.cat([y, s], dim=1)).double().numpy()
        return v * self.std / self._dt_per_index(t)

    __call__ = velocity

    def push(self, x0, t0, times):
        from amphys.diagnostics.fields import rk4_push

        return rk4_push(self.velocity, np.asarray(x0, dtype=np.float64), float(t0), times, n_steps=200)


def _fit_torchcfm(times, xs, net: dict, *, seed: int, pairs_per_step: int = 4):
    import torch
    from torch import nn
    from torchcfm.conditional_flow_matching import ExactOptimalTransportConditionalFlowMatcher

    allx = np.concatenate(xs)
    mean, std = allx.mean(axis=0), np.where(allx.std(axis=0) > 0, allx.std(axis=0), 1.0)
    ys = [torch.as_tensor((x - mean) / std, dtype=torch.float32) for x in xs]
    d, hidden, depth = allx.shape[1], net["hidden"], net["depth"]
    layers, width = [], d + 1
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for _ in range(depth):
            layers += [nn.Linear(width, hidden), nn.SELU()]  # the example's MLP uses SELU
            width = hidden
        model = nn.Sequential(*layers, nn.Linear(width, d))
    matcher = ExactOptimalTransportConditionalFlowMatcher(sigma=0.0)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    rng = np.random.default_rng(seed)
    gen = torch.Generator().manual_seed(seed)
    per = min(pairs_per_step, len(xs) - 1)
    b = max(2, net["batch_size"] // per)
    with torch.random.fork_rng(devices=[]):  # the matcher draws t from torch's global stream: seed it, locally
        torch.manual_seed(seed)
        _train_torchcfm(model, matcher, opt, ys, net["steps"], per, b, rng, gen)
    return _TorchCFM(model.eval(), times, mean, std)


def _train_torchcfm(model, matcher, opt, ys, steps, per, b, rng, gen):
    import torch

    for _ in range(steps):
        ts, xts, uts = [], [], []
        for k in rng.choice(len(ys) - 1, size=per, replace=False):
            x0 = ys[k][torch.randint(0, ys[k].shape[0], (b,), generator=gen)]
            x1 = ys[k + 1][torch.randint(0, ys[k + 1].shape[0], (b,), generator=gen)]
            t, xt, ut = matcher.sample_location_and_conditional_flow(x0, x1)
            ts.append(t + float(k))
            xts.append(xt)
            uts.append(ut)
        vt = model(torch.cat([torch.cat(xts), torch.cat(ts)[:, None]], dim=1))
        loss = torch.mean((vt - torch.cat(uts)) ** 2)
        opt.zero_grad()
        loss.backward()
        opt.step()
