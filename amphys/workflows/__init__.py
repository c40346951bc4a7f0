"""Workflows: what a user does with data and a model, built from the layers below (data, solver, diagnostics,
plotting). The verbs are plain functions in modules named by a noun:

- :mod:`~amphys.workflows.fitting` — ``fit`` (``amphys.fit``): Snapshots → solver → FitResult;
- :mod:`~amphys.workflows.result` — ``FitResult``, its file (``save``, ``load_model``) and ``Transported``;
- :mod:`~amphys.workflows.prediction` — ``predict``: samples at unobserved times;
- :mod:`~amphys.workflows.evaluation` — ``evaluate`` (``amphys.evaluate``): a report against ground truth or data;
- :mod:`~amphys.workflows.held_out_times` — ``held_out``: leave one snapshot out, fit, push, score;
- :mod:`~amphys.workflows.validation` — ``validate``: assessing a fit without ground truth;
- :mod:`~amphys.workflows.pipeline` — ``run`` (``amphys run``): generate → fit → evaluate → plot.

Importing this package imports none of them (fitting and result import torch).
"""
