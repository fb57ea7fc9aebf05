"""Scoring separation results: BSS Eval (museval) and the fast global SDR."""
