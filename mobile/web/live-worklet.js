// The live page's audio thread: capture the input in blocks for the worker, play the remix it sends back.
//
// Input quanta (128 frames) are gathered into blocks of `block` frames,
// interleaved, and sent to the separation worker. The stems it returns are
// queued behind `delay` frames of silence (the stream's latency, one block
// and the compute buffer: the remix then plays exactly that far behind the
// input) and mixed with one gain per stem. A quantum that finds the queue
// empty is an underrun: the listener hears a gap.
class TfsepLive extends AudioWorkletProcessor {
  constructor(options) {
    super();
    const { block, channels, stems, delay } = options.processorOptions;
    this.block = block;
    this.C = channels;
    this.gains = new Float32Array(stems).fill(1);
    this.capture = new Float32Array(block * channels);
    this.filled = 0;
    this.queue = [{ stems: Array.from({ length: stems }, () => new Float32Array(delay * channels)), length: delay }];
    this.head = 0; // frames of queue[0] already played
    this.queued = delay;
    this.underruns = 0;
    this.captured = 0;
    this.played = 0;
    this.worker = null;
    this.ended = false;
    this.port.onmessage = (e) => {
      const msg = e.data;
      if (msg.type === 'worker') {
        this.worker = msg.port;
        this.worker.onmessage = (w) => {
          if (w.data.type !== 'stems') return;
          const length = w.data.stems[0].length / this.C;
          this.queue.push({ stems: w.data.stems, length });
          this.queued += length;
        };
      } else if (msg.type === 'gains') {
        this.gains.set(msg.gains);
      } else if (msg.type === 'end') {
        this.ended = true;
      }
    };
  }

  process(inputs, outputs) {
    const input = inputs[0];
    const output = outputs[0];
    const n = output.length ? output[0].length : 128;
    const C = this.C;
    if (input.length && !this.ended && this.worker) {
      for (let t = 0; t < n; t++) {
        for (let c = 0; c < C; c++) this.capture[(this.filled + t) * C + c] = input[Math.min(c, input.length - 1)][t];
      }
      this.filled += n;
      this.captured += n;
      if (this.filled === this.block) {
        this.worker.postMessage({ type: 'block', block: this.capture }, [this.capture.buffer]);
        this.capture = new Float32Array(this.block * C);
        this.filled = 0;
      }
    }
    if (!this.worker) return true;
    let t = 0;
    while (t < n && this.queue.length) {
      const chunk = this.queue[0];
      const k = Math.min(n - t, chunk.length - this.head);
      for (let i = 0; i < k; i++) {
        for (let c = 0; c < output.length; c++) {
          let v = 0;
          for (let s = 0; s < chunk.stems.length; s++) {
            v += this.gains[s] * chunk.stems[s][(this.head + i) * C + Math.min(c, C - 1)];
          }
          output[c][t + i] = v;
        }
      }
      t += k;
      this.head += k;
      this.queued -= k;
      if (this.head === chunk.length) {
        this.queue.shift();
        this.head = 0;
      }
    }
    this.played += t;
    if (t < n) {
      for (const ch of output) ch.fill(0, t);
      if (!this.ended) this.underruns += 1;
    }
    if (this.played % 4096 < n) this.port.postMessage({ type: 'figures', underruns: this.underruns, played: this.played, captured: this.captured, queued: this.queued });
    return true;
  }
}

registerProcessor('tfsep-live', TfsepLive);
