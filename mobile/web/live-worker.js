// The live page's separation, off the main thread: LiteRT.js and the stream (stream.js) in a Web Worker.
//
// The audio worklet sends input blocks here over a MessagePort (interleaved
// Float32Array at the model's rate) and gets back the stems' final samples
// in order; the page gets the figures. With `record`, the input received and
// the stems made are kept for the page to read (the browser test compares
// them with tfsep's own stream).
//
// A classic worker, not a module one: LiteRT.js loads its WASM glue with
// importScripts(), which module workers do not have; the modules below come
// in with import().
const modules = Promise.all([import('./model.js'), import('./stream.js')]);

let stream = null;
let audio = null; // the worklet's port
let record = null; // {input: [], stems: [[]...]} when recording
let busy = 0; // seconds spent in the model and the stream
let received = 0; // input samples
let queue = Promise.resolve();

function post(message, transfer) {
  self.postMessage(message, transfer);
}

let model = null;

async function warm({ modelUrl, accelerator }) {
  const [{ compileModel, fetchModel }] = await modules;
  model = await compileModel(await fetchModel(modelUrl), accelerator);
  const { meta } = model;
  // Trace and warm the model before the music starts: the first calls are the slow ones.
  const zeros = new Float32Array(meta.segment_samples * meta.n_channels);
  await model.runSegment(zeros);
  const t0 = performance.now();
  for (let i = 0; i < 3; i++) await model.runSegment(zeros);
  post({ type: 'warm', meta, backend: model.backend, windowSeconds: (performance.now() - t0) / 3000 });
}

async function startStream({ port, latency, hop, record: recordAll }) {
  const [, { StemStream, livePlan }] = await modules;
  const meta = model.meta;
  const plan = livePlan(meta, Math.round(latency * meta.sample_rate), hop);
  stream = new StemStream(meta, model.runSegment, plan);
  record = recordAll ? { input: [], stems: meta.stems.map(() => []) } : null;
  audio = port;
  audio.onmessage = (e) => {
    if (e.data.type === 'block') {
      queue = queue.then(() => onBlock(e.data.block)).catch((err) => post({ type: 'error', error: String(err) }));
    }
  };
  post({ type: 'ready', plan: { window: plan.window, hop: plan.hop, latency: plan.latency, crossfade: plan.crossfade } });
}

async function onBlock(block) {
  const t0 = performance.now();
  received += block.length / stream.C;
  if (record) record.input.push(block.slice());
  const stems = await stream.push(block);
  busy += (performance.now() - t0) / 1000;
  if (record) stems.forEach((y, s) => record.stems[s].push(y.slice())); // copies: the originals are transferred
  if (stems[0].length) audio.postMessage({ type: 'stems', stems }, stems.map((y) => y.buffer));
  post({ type: 'figures', received, busy });
}

self.onmessage = (event) => {
  const msg = event.data;
  const failed = (err) => post({ type: 'error', error: err.message ?? String(err) });
  if (msg.type === 'warm') {
    warm(msg).catch(failed);
  } else if (msg.type === 'stream') {
    startStream(msg).catch(failed);
  } else if (msg.type === 'record') {
    // Everything so far, once the blocks already sent are separated.
    queue = queue.then(async () => {
      const [, { concat }] = await modules;
      const input = concat(record.input);
      const stems = record.stems.map(concat);
      post({ type: 'record', input, stems, received, busy }, [input.buffer, ...stems.map((y) => y.buffer)]);
    });
  }
};
