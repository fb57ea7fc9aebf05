"""Separation methods that are not trained networks: oracles and classical DSP baselines.

Each satisfies the separation-method contract: ``stems`` and
``separate(waveform, sample_rate) -> {stem: waveform}``.
"""
