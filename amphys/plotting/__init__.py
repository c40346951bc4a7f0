"""Figures (matplotlib, Agg-safe). The only amphys module that imports matplotlib (SPEC §5.4, §10)."""
