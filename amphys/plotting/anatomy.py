"""The error-anatomy figure: where the q-weighted field error lives (``amphys.diagnostics.error_anatomy``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from amphys.plotting.figures import LEARNED, TRUE, _figure, _save

__all__ = ["plot_error_anatomy"]


def _edges_label(lo, hi, unit: str) -> str:
    if not np.isfinite(hi):
        return f">{lo:g}{unit}"
    return f"{lo:g}–{hi:g}{unit}"


def _bars(ax, labels, mass, share, rel, title):
    pos = np.arange(len(labels))
    ax.bar(pos - 0.2, mass, 0.4, color=TRUE, label="share of the mass")
    ax.bar(pos + 0.2, share, 0.4, color=LEARNED, label="share of the error")
    ax.set_xticks(pos, labels, rotation=40, ha="right")
    ax.set_ylim(0, 1.05)
    ax.set_title(title)
    twin = ax.twinx()
    rel = np.asarray(rel, dtype=float)
    ok = np.isfinite(rel) & (rel > 0)
    if ok.any():
        twin.plot(pos[ok], np.sqrt(rel[ok]), "k.", ms=6, label="relative error inside (root)")
        twin.set_yscale("log")
    twin.tick_params(labelsize=7)
    return twin


def plot_error_anatomy(anatomy, path, *, title=None) -> Path:
    """Four panels from an error anatomy (:func:`amphys.diagnostics.error_anatomy`): the relative error and the
    share of the total error by time; and by radius, density level and distance to a node of ψ (when known), the
    share of the mass (teal) beside the share of the error (red) with the relative error inside each region
    (dots, right axis). The title line gives the q-weighted error and the error on the region holding the
    reported mass."""
    a = anatomy
    has_node = "node" in a.dims
    fig = _figure(2, 2, width=3.4, height=2.6)
    axes = fig.subplots(2, 2).ravel()
    t = a["time"].values
    ax = axes[0]
    ax.bar(t, a["error_share"].values, width=0.8 * (np.min(np.diff(t)) if t.size > 1 else 1.0), color=LEARNED,
           label="share of the error")
    ax.set_ylim(0, 1.05)
    ax.set_title("by time")
    ax.set_xlabel(f"t [{a.attrs['units_t']}]" if a.attrs.get("units_t", "1") != "1" else "t")
    twin = ax.twinx()
    twin.plot(t, np.sqrt(np.maximum(a["velocity_error"].values, 1e-300)), "k.-", ms=4, lw=0.8)
    twin.plot(t, np.sqrt(np.maximum(a["velocity_error_mass"].values, 1e-300)), ".--", color="0.5", ms=3, lw=0.8)
    twin.set_yscale("log")
    twin.tick_params(labelsize=7)
    mass = float(a.attrs.get("mass", 0.99))
    r = a["radius"].values
    _bars(axes[1], [_edges_label(lo, hi, "ℓ") for lo, hi in zip(r, a["radius_upper"].values)],
          a["mass_share_radius"].values, a["error_share_radius"].values, a["velocity_error_radius"].values,
          "by radius from the centre")
    lv = a["level"].values
    _bars(axes[2], [f"{100 * lo:g}–{100 * hi:g}%" for lo, hi in zip(a["level_lower"].values, lv)],
          a["mass_share_level"].values, a["error_share_level"].values, a["velocity_error_level"].values,
          "by density level (mass of the region above)")
    if has_node:
        nd = a["node"].values
        _bars(axes[3], [_edges_label(lo, hi, "ℓ") for lo, hi in zip(nd, a["node_upper"].values)],
              a["mass_share_node"].values, a["error_share_node"].values, a["velocity_error_node"].values,
              "by distance to a node of ψ")
    else:
        axes[3].axis("off")
        axes[3].text(0.5, 0.5, "no node distance\n(the system has no wavefunction)", ha="center", va="center")
    handles, labels = axes[1].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=2, frameon=False)
    head = (f"q-weighted rel. error {float(a['velocity_error_root']):.3g} (root); on the {100 * mass:g}% mass "
            f"region {float(a['velocity_error_mass_root']):.3g}; outside it "
            f"{100 * float(a['error_share_outside_mass']):.0f}% of the error. ℓ = {a.attrs['length']:.3g}; "
            "dots: relative error inside (root, right axis)")
    fig.suptitle(head if not title else f"{title}\n{head}", fontsize=8)
    return _save(fig, path)
