// Live separation for a tfsep TFLite export, window for window as
// tfsep.separation.stream does it (its live plans: tfsep/separation/stream_plan.py).
// No DOM and no LiteRT here: `runWindow` is any async function mapping one
// interleaved (segment_samples, C) Float32Array to (stems, segment_samples, C).

/**
 * The live plan for `latency` samples at the model's rate: windows of the
 * export's segment_samples, `hop` apart, each kept from `window - latency`
 * on for `hop + crossfade` samples (the defaults of stream_plan.stream_plan).
 */
export function livePlan(meta, latency, hop) {
  const window = meta.segment_samples;
  const step = meta.kind === 'waveform' ? 1 : meta.frame_step;
  const edge = meta.crossfade_edge ?? 0;
  if (hop === undefined || hop === null) hop = Math.max(step, Math.floor(Math.floor(latency / 2) / step) * step);
  if (hop > latency - step) hop = Math.max(step, Math.floor((latency - step) / step) * step);
  const crossfade = Math.min(hop, Math.max(step, Math.floor(hop / 4)), latency - hop);
  const a = window - latency;
  if (a < edge || crossfade < 0) {
    const most = (window - edge) / meta.sample_rate;
    throw new Error(
      `a latency of ${(latency / meta.sample_rate).toFixed(3)} s does not fit this export's ` +
        `${(window / meta.sample_rate).toFixed(2)} s windows (at most ${most.toFixed(3)} s; ` +
        'export with more --frames for longer latencies)',
    );
  }
  const b = a + hop + crossfade;
  const weights = new Float32Array(window);
  weights.fill(1, a, b);
  for (let i = 0; i < crossfade; i++) {
    const r = (i + 0.5) / crossfade;
    weights[a + i] = r;
    weights[b - 1 - i] = r;
  }
  return { window, hop, crossfade, a, b, origin: -(a + crossfade), latency, weights };
}

/** A live stream: push interleaved blocks, get the stems' final samples (interleaved, per stem) in order. */
export class StemStream {
  constructor(meta, runWindow, plan) {
    this.meta = meta;
    this.run = runWindow;
    this.plan = plan;
    this.C = meta.n_channels;
    this.S = meta.stems.length;
    const { a, b, origin } = plan;
    this.kept = plan.weights.subarray(a, b);
    // Input from absolute position inStart (the next window's first sample); before sample 0: silence.
    this.input = new Float32Array(Math.max(4 * plan.window, 1 << 16) * this.C);
    this.have = -origin; // samples in `input` (the leading ones are the silence before sample 0)
    this.inStart = origin;
    this.count = 0;
    this.done = 0;
    const n = (b - a) * this.C;
    this.acc = Array.from({ length: this.S }, () => new Float32Array(n));
    this.wsum = new Float32Array(b - a);
    this.accStart = origin + a;
    this.segment = new Float32Array(plan.window * this.C);
  }

  /** Append an interleaved block; resolves to the stems' newly final samples ([Float32Array per stem]). */
  async push(block) {
    const n = block.length / this.C;
    if (this.have * this.C + block.length > this.input.length) {
      const bigger = new Float32Array(2 * (this.have * this.C + block.length));
      bigger.set(this.input.subarray(0, this.have * this.C));
      this.input = bigger;
    }
    this.input.set(block, this.have * this.C);
    this.have += n;
    this.count += n;
    const out = [];
    while (this.inStart + this.plan.window <= this.count) out.push(await this.next());
    return this.joined(out);
  }

  /** The end of the input: the windows left, on silence past the end, and every stem sample left. */
  async flush() {
    const total = this.count;
    const out = [];
    const { origin, a, hop } = this.plan;
    const windows = total > 0 ? Math.ceil((total - origin - a) / hop) : 0;
    for (let k = Math.round((this.inStart - origin) / hop); k < windows; k++) out.push(await this.next());
    const keep = Math.min(Math.max(0, total - this.accStart), this.wsum.length);
    out.push(this.final(keep));
    const before = this.done;
    const joined = this.joined(out);
    this.done = total;
    return joined.map((s) => s.subarray(0, (total - before) * this.C));
  }

  async next() {
    const { window, a, b, hop } = this.plan;
    const C = this.C;
    this.segment.fill(0);
    this.segment.set(this.input.subarray(0, Math.min(this.have, window) * C));
    const out = await this.run(this.segment);
    if (out.length !== this.S * window * C) {
      throw new Error(`the model returned ${out.length} values, expected ${this.S}x${window}x${C}`);
    }
    for (let s = 0; s < this.S; s++) {
      const acc = this.acc[s];
      const base = s * window * C + a * C;
      for (let t = 0; t < b - a; t++) {
        const w = this.kept[t];
        for (let c = 0; c < C; c++) acc[t * C + c] += out[base + t * C + c] * w;
      }
    }
    for (let t = 0; t < b - a; t++) this.wsum[t] += this.kept[t];
    const final = this.final(hop);
    // Move the sums and the input on by one hop.
    for (const acc of this.acc) {
      acc.copyWithin(0, hop * C);
      acc.fill(0, acc.length - hop * C);
    }
    this.wsum.copyWithin(0, hop);
    this.wsum.fill(0, this.wsum.length - hop);
    this.input.copyWithin(0, hop * C, Math.max(hop, this.have) * C);
    this.have = Math.max(0, this.have - hop);
    this.inStart += hop;
    this.accStart += hop;
    return final;
  }

  /** The first `n` summed samples, normalised, without the positions before sample 0. */
  final(n) {
    const C = this.C;
    const skip = Math.min(n, Math.max(0, -this.accStart));
    return this.acc.map((acc) => {
      const y = new Float32Array((n - skip) * C);
      for (let t = skip; t < n; t++) {
        const w = this.wsum[t];
        for (let c = 0; c < C; c++) y[(t - skip) * C + c] = acc[t * C + c] / w;
      }
      return y;
    });
  }

  joined(parts) {
    const stems = Array.from({ length: this.S }, (_, s) => concat(parts.map((p) => p[s])));
    this.done += stems[0].length / this.C;
    return stems;
  }
}

/** Float32Arrays one after the other, in one Float32Array. */
export function concat(parts) {
  const y = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    y.set(p, at);
    at += p.length;
  }
  return y;
}
