// Segmenting, crossfade and overlap-add for a tfsep TFLite export, step for
// step as mobile/separate_tflite.py (the executable specification) does it.
// No DOM and no LiteRT here: `runSegment` is any async function mapping one
// interleaved (segment_samples, C) Float32Array to (stems, segment_samples, C).

/** Round half to even, like Python's round(). */
function roundHalfEven(v) {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Weights of one segment: ramps over `overlap` samples, never zero (tfsep.separation.plan). */
export function crossfadeWindow(length, overlap, edge) {
  const w = new Float32Array(length).fill(1);
  if (overlap > 0) {
    for (let i = 0; i < overlap; i++) w[length - 1 - i] = (i + 0.5) / overlap;
    edge = Math.min(Math.max(edge, 0), overlap);
    w.fill(1e-6, 0, edge);
    for (let i = edge; i < overlap; i++) {
      w[i] = Math.min(w[i], (i - edge + 0.5) / (overlap - edge));
    }
  }
  return w;
}

/** Check a MODEL.json and fill the fields older exports lack (padding 0, residual null). */
export function checkMetadata(meta) {
  for (const key of ['stems', 'sample_rate', 'n_channels', 'segment_samples', 'segment', 'overlap', 'crossfade_edge']) {
    if (meta[key] === undefined) throw new Error(`model metadata lacks "${key}": is this a tfsep export's .json?`);
  }
  if (meta.graph !== 'full' && meta.kind !== 'waveform') {
    throw new Error(
      `this is the "${meta.graph}" graph, which needs an STFT outside the model: ` +
        'export the full graph (tfsep export --format tflite --graph full)',
    );
  }
  return { padding: 0, residual: null, ...meta };
}

/** Where the segments of a track of `nSamples` samples start, and how they are weighted. */
export function segmentPlan(meta, nSamples, overlapFraction) {
  const size = meta.segment_samples;
  // The overlap is a fraction of the segment in tfsep: keep the fraction for other segment lengths.
  const frac = overlapFraction ?? meta.overlap / meta.segment;
  const overlap = roundHalfEven(frac * size);
  const hop = size - overlap;
  const padding = meta.padding ?? 0;
  const length = nSamples + 2 * padding;
  const count = 1 + Math.max(0, Math.ceil((length - size) / hop));
  return { size, overlap, hop, padding, count, window: crossfadeWindow(size, overlap, meta.crossfade_edge) };
}

/** Planar channels (Float32Array each) -> the model's channel count (mono duplicated, others averaged). */
export function toModelChannels(channels, n) {
  if (channels.length === n) return channels;
  const mean = new Float32Array(channels[0].length);
  for (const ch of channels) for (let i = 0; i < mean.length; i++) mean[i] += ch[i];
  for (let i = 0; i < mean.length; i++) mean[i] /= channels.length;
  return Array.from({ length: n }, () => mean);
}

/**
 * Separate planar channels at the model's rate.
 *
 * Returns {stem: [Float32Array per channel]}, sample-aligned with the input.
 * `onProgress(done, total)` is awaited after each segment (a chance to repaint).
 */
export async function separate(channels, meta, runSegment, { onProgress, overlap } = {}) {
  const C = meta.n_channels;
  const x = toModelChannels(channels, C);
  const n = x[0].length;
  const plan = segmentPlan(meta, n, overlap);
  const { size, hop, padding, window } = plan;
  const S = meta.stems.length;
  // Accumulate only the samples kept after cropping the padding.
  const acc = meta.stems.map(() => Array.from({ length: C }, () => new Float32Array(n)));
  const wsum = new Float32Array(n);
  const input = new Float32Array(size * C);
  for (let k = 0; k < plan.count; k++) {
    const start = k * hop - padding; // track sample at segment sample 0
    input.fill(0);
    const t0 = Math.max(0, -start);
    const t1 = Math.min(size, n - start);
    for (let t = t0; t < t1; t++) {
      for (let c = 0; c < C; c++) input[t * C + c] = x[c][start + t];
    }
    const out = await runSegment(input);
    if (out.length !== S * size * C) {
      throw new Error(`the model returned ${out.length} values, expected ${S}x${size}x${C}`);
    }
    for (let t = t0; t < t1; t++) {
      const w = window[t];
      const i = start + t;
      wsum[i] += w;
      for (let s = 0; s < S; s++) {
        const base = s * size * C + t * C;
        for (let c = 0; c < C; c++) acc[s][c][i] += out[base + c] * w;
      }
    }
    if (onProgress) await onProgress(k + 1, plan.count);
  }
  const stems = {};
  meta.stems.forEach((stem, s) => {
    for (const ch of acc[s]) for (let i = 0; i < n; i++) ch[i] /= wsum[i];
    stems[stem] = acc[s];
  });
  return stems;
}
