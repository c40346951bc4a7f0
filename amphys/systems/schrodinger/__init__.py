"""Schrödinger dynamics for the quantum systems: one concept per module.

- :mod:`~amphys.systems.schrodinger.wave`: :class:`WaveState`, the protocol of an exact wavefunction state, and
  :class:`WavefunctionSystem`, the system over one (``gaussian-packet``, ``harmonic``, ``hydrogen``);
- :mod:`~amphys.systems.schrodinger.gaussian`: Gaussian packets (free, coherent, squeezed);
- :mod:`~amphys.systems.schrodinger.hermite`: Hermite functions, their exact sampler, the phase of a polynomial;
- :mod:`~amphys.systems.schrodinger.oscillator_states`: the four states of ``harmonic``;
- :mod:`~amphys.systems.schrodinger.hydrogen_states`: the two superpositions of ``hydrogen``;
- :mod:`~amphys.systems.schrodinger.splitstep`: the Strang split-step Fourier propagator of ``schrodinger-grid``.
"""
