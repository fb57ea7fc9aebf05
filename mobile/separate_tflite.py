#!/usr/bin/env python3
"""Reference on-device separation with a tfsep TFLite export: LiteRT + numpy only.

This file is the executable specification for Android/iOS ports: no
TensorFlow, no tfsep.  It reads ``MODEL.tflite`` and the ``MODEL.json`` that
``tfsep export --format tflite`` writes beside it, and reproduces
``tfsep separate`` step by step:

1. the track gets ``padding`` zeros (the STFT's ``frame_length``) before its
   first and after its last sample, so that its edges are seen by as many
   STFT frames as the middle (they are cropped from the stems at the end);
   segments of ``segment_samples`` samples start every ``hop`` samples
   (``hop = segment - overlap``); the last one is zero-padded;
2. per segment (``core`` graph): STFT (frames start at sample 0, zero padding
   at the end, periodic Hann window, ``frame_length``/``frame_step``), the
   magnitude of the first ``F`` bins as ``(T, F, C)`` into the model, masks
   ``(stems, T, F, C)`` out, extended to all bins (zeros or the mean over the
   ``F`` bins), multiplied with the complex STFT, inverse STFT with the dual
   window ``hann / sum of hann^2 over the overlapping frames``;
   then, if ``residual`` names a stem, that stem becomes the segment minus
   the other stems (the stems sum to the mixture);
   (``full`` graph): the model does all of that on the waveform segment;
3. each segment's stems are weighted by the crossfade window (linear ramps of
   ``overlap`` samples, the first ``frame_length - frame_step`` samples nearly
   zero), summed and divided by the summed weights.

Usage: ``python mobile/separate_tflite.py MODEL.tflite INPUT.wav -o OUTDIR``
(input at the model's sample rate; WAV/FLAC/OGG through soundfile).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np
from ai_edge_litert.interpreter import Interpreter


def hann_periodic(n):
    return (0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(n) / n)).astype(np.float32)


def dual_window(frame_length, frame_step):
    w = hann_periodic(frame_length).astype(np.float64)
    denom = np.sum(np.square(w).reshape(-1, frame_step), axis=0)
    return (w / np.tile(denom, frame_length // frame_step)).astype(np.float32)


def crossfade_window(length, overlap, edge):
    """Weights of one segment: ramps over ``overlap`` samples, never zero (tfsep.separation.plan)."""
    w = np.ones(length, dtype=np.float32)
    if overlap > 0:
        ramp = (np.arange(overlap, dtype=np.float32) + 0.5) / overlap
        w[-overlap:] = ramp[::-1]
        edge = min(max(edge, 0), overlap)
        if edge:
            w[:edge] = 1e-6
        if overlap > edge:
            fade_in = (np.arange(overlap - edge, dtype=np.float32) + 0.5) / (overlap - edge)
            w[edge:overlap] = np.minimum(w[edge:overlap], fade_in)
    return w


def stft(x, frame_length, frame_step):
    """``(C, L)`` -> complex ``(C, ceil(L / frame_step), frame_length // 2 + 1)``."""
    frames = -(-x.shape[1] // frame_step)
    padded = np.zeros((x.shape[0], (frames - 1) * frame_step + frame_length), np.float32)
    padded[:, : x.shape[1]] = x
    idx = np.arange(frames)[:, None] * frame_step + np.arange(frame_length)[None]
    return np.fft.rfft(padded[:, idx] * hann_periodic(frame_length), axis=-1)


def istft(spec, frame_length, frame_step, length):
    """Complex ``(R, frames, bins)`` -> ``(R, length)``: inverse FFT, dual window, overlap-add."""
    frames = np.fft.irfft(spec, n=frame_length, axis=-1).astype(np.float32) * dual_window(frame_length, frame_step)
    n = spec.shape[1]
    out = np.zeros((spec.shape[0], (n - 1) * frame_step + frame_length), np.float32)
    for i in range(n):
        out[:, i * frame_step : i * frame_step + frame_length] += frames[:, i]
    return out[:, :length]


class TFLiteSeparator:
    """Separate waveforms ``(samples, channels)`` with a tfsep TFLite export."""

    def __init__(self, model_path, meta_path=None, num_threads=None, overlap=None):
        meta_path = meta_path or os.path.splitext(model_path)[0] + ".json"
        with open(meta_path, encoding="utf-8") as f:
            self.meta = m = json.load(f)
        self.interpreter = Interpreter(model_path=model_path, num_threads=num_threads)
        self.runner = self.interpreter.get_signature_runner("serving_default")
        self.stems = m["stems"]
        self.sample_rate = m["sample_rate"]
        self.channels = m["n_channels"]
        self.segment = m["segment_samples"]
        # The overlap is a fraction of the segment in tfsep; keep the fraction for other segment lengths.
        frac = m["overlap"] / m["segment"] if overlap is None else float(overlap)
        self.overlap = int(round(frac * self.segment))
        self.hop = self.segment - self.overlap
        self.window = crossfade_window(self.segment, self.overlap, m["crossfade_edge"])
        self.latencies = []

    def separate_segment(self, seg):
        """``(segment_samples, C)`` -> ``(stems, segment_samples, C)``."""
        m = self.meta
        t0 = time.perf_counter()
        if m["graph"] == "full" or m["kind"] == "waveform":
            out = self.runner(waveform=np.ascontiguousarray(seg, np.float32))["stems"]
        else:
            N, H, F = m["frame_length"], m["frame_step"], m["F"]
            spec = stft(seg.T, N, H)  # (C, T, bins)
            mag = np.abs(spec[:, :, :F]).astype(np.float32).transpose(1, 2, 0)  # (T, F, C)
            masks = self.runner(magnitude=np.ascontiguousarray(mag))["masks"]  # (S, T, F, C)
            masks = masks.transpose(0, 3, 1, 2)  # (S, C, T, F)
            extra = m["n_bins"] - F
            if extra:
                if m["mask_extension"] == "average":
                    fill = np.repeat(masks.mean(axis=3, keepdims=True), extra, axis=3)
                else:
                    fill = np.zeros(masks.shape[:3] + (extra,), np.float32)
                masks = np.concatenate([masks, fill], axis=3)
            stems = masks * spec[None]  # (S, C, T, bins)
            S, C = stems.shape[:2]
            y = istft(stems.reshape(S * C, *stems.shape[2:]), N, H, len(seg))
            out = y.reshape(S, C, -1).transpose(0, 2, 1)
            if m.get("residual"):
                r = self.stems.index(m["residual"])
                out[r] = seg - (out.sum(axis=0) - out[r])
        self.latencies.append(time.perf_counter() - t0)
        return out

    def separate(self, waveform):
        """Waveform ``(samples, channels)`` at the model rate -> ``{stem: (samples, channels)}``."""
        x = np.asarray(waveform, np.float32)
        if x.ndim == 1:
            x = x[:, None]
        if x.shape[1] != self.channels:
            x = np.repeat(x.mean(axis=1, keepdims=True), self.channels, axis=1)
        pad = self.meta.get("padding", 0)
        L, S, H = len(x) + 2 * pad, self.segment, self.hop
        n = 1 + max(0, -(-(L - S) // H))
        total = (n - 1) * H + S
        padded = np.zeros((total, self.channels), np.float32)
        padded[pad : pad + len(x)] = x
        acc = np.zeros((len(self.stems), total, self.channels), np.float32)
        wsum = np.zeros(total, np.float32)
        for k in range(n):
            a = k * H
            acc[:, a : a + S] += self.separate_segment(padded[a : a + S]) * self.window[None, :, None]
            wsum[a : a + S] += self.window
        out = acc[:, pad : L - pad] / wsum[None, pad : L - pad, None]
        return {stem: out[i] for i, stem in enumerate(self.stems)}


def main(argv=None):
    import soundfile as sf

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", help="MODEL.tflite (MODEL.json beside it)")
    ap.add_argument("input", help="audio file at the model's sample rate")
    ap.add_argument("-o", "--output", default="separated")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--overlap", type=float, default=None, help="overlap fraction (default: the model's)")
    args = ap.parse_args(argv)
    sep = TFLiteSeparator(args.model, num_threads=args.threads, overlap=args.overlap)
    x, sr = sf.read(args.input, dtype="float32", always_2d=True)
    if sr != sep.sample_rate:
        sys.exit(f"{args.input}: {sr} Hz, the model needs {sep.sample_rate} Hz (resample first, e.g. ffmpeg -ar)")
    t0 = time.perf_counter()
    stems = sep.separate(x)
    seconds = time.perf_counter() - t0
    track = os.path.splitext(os.path.basename(args.input))[0]
    os.makedirs(os.path.join(args.output, track), exist_ok=True)
    for stem, y in stems.items():
        sf.write(os.path.join(args.output, track, f"{stem}.wav"), y, sr, subtype="FLOAT")
    lat = np.array(sep.latencies) * 1000
    print(
        f"{len(x) / sr:.1f} s in {seconds:.2f} s ({len(x) / sr / seconds:.1f}x real time), "
        f"{len(lat)} segments, {lat.mean():.0f} ms per segment"
    )


if __name__ == "__main__":
    main()
