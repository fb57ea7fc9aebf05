// The live page: a microphone or a file through an AudioWorklet, separation in a Web Worker, a slider per stem.
// `window.tfsepLive` mirrors the state for scripts (the browser test reads it).
//
// Query parameters (for scripts and links): model, latency, accelerator (wasm|webgpu|auto), source (mic|file),
// record (1: the worker keeps the input and stems for tfsepLive.record()).

const BLOCK = 1024; // frames per block sent to the worker (8 render quanta)
const MIN_BUFFER = 0.05; // seconds of compute buffer at least: the worker and the audio thread are scheduled

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const live = (window.tfsepLive = { state: 'stopped', error: null, figures: {}, plan: null, meta: null });
let session = null;

function status(text) {
  $('status').textContent = text;
}

function fail(message) {
  live.state = 'error';
  live.error = message;
  $('error').textContent = message;
  stop();
}

function message(worker, type) {
  return new Promise((resolve, reject) => {
    const onMessage = (e) => {
      if (e.data.type === type) {
        worker.removeEventListener('message', onMessage);
        resolve(e.data);
      } else if (e.data.type === 'error') {
        worker.removeEventListener('message', onMessage);
        reject(new Error(e.data.error));
      }
    };
    worker.addEventListener('message', onMessage);
  });
}

async function start() {
  $('error').textContent = '';
  live.error = null;
  live.state = 'starting';
  $('start').disabled = true;
  const latency = Number(params.get('latency') ?? $('latency').value);
  const modelUrl = params.get('model') ?? $('model-url').value;
  const useMic = (params.get('source') ?? ($('use-mic').checked ? 'mic' : 'file')) === 'mic';
  status('loading the model in a worker…');
  const worker = new Worker(new URL('./live-worker.js', import.meta.url));
  const channel = new MessageChannel();
  session = { worker, underruns: 0 };
  worker.addEventListener('message', (e) => {
    if (e.data.type === 'figures') Object.assign(live.figures, { received: e.data.received, busy: e.data.busy });
    if (e.data.type === 'error') fail(`separation stopped: ${e.data.error}`);
  });
  // The compute buffer needs the model's speed here: the worker warms the model, then the stream is planned.
  const probe = message(worker, 'warm');
  worker.postMessage({ type: 'warm', modelUrl, accelerator: params.get('accelerator') ?? 'wasm' });
  const { meta, windowSeconds, backend } = await probe;
  const rate = meta.sample_rate;
  const buffer = Math.max(MIN_BUFFER, 2 * windowSeconds);
  const streamLatency = latency - BLOCK / rate - buffer;
  const ready = message(worker, 'ready');
  worker.postMessage(
    { type: 'stream', port: channel.port1, latency: streamLatency, record: params.get('record') === '1' },
    [channel.port1],
  );
  const { plan } = await ready;
  live.meta = meta;
  live.plan = { ...plan, buffer, block: BLOCK, backend, windowSeconds, total: latency };

  const ctx = new AudioContext({ sampleRate: rate, latencyHint: 'interactive' });
  session.ctx = ctx;
  await ctx.audioWorklet.addModule(new URL('./live-worklet.js', import.meta.url));
  // The remix plays the stream's latency, one block and the buffer behind the input.
  const delay = plan.latency + BLOCK + Math.round(buffer * rate);
  const node = new AudioWorkletNode(ctx, 'tfsep-live', {
    numberOfInputs: 1,
    numberOfOutputs: 1,
    outputChannelCount: [2],
    processorOptions: { block: BLOCK, channels: meta.n_channels, stems: meta.stems.length, delay },
  });
  session.node = node;
  node.port.postMessage({ type: 'worker', port: channel.port2 }, [channel.port2]);
  node.port.onmessage = (e) => Object.assign(live.figures, e.data);
  node.connect(ctx.destination);
  sliders(meta.stems, node);

  if (useMic) {
    const media = await navigator.mediaDevices.getUserMedia({
      audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false },
    });
    session.media = media;
    ctx.createMediaStreamSource(media).connect(node);
  } else {
    const file = $('audio-file').files[0];
    if (!file) throw new Error('pick a file first');
    const buffer = await ctx.decodeAudioData(await file.arrayBuffer());
    const src = ctx.createBufferSource();
    src.buffer = buffer;
    src.connect(node);
    src.onended = () => node.port.postMessage({ type: 'end' });
    src.start();
  }
  await ctx.resume();
  live.state = 'running';
  $('stop').disabled = false;
  const total = latency.toFixed(2);
  status(
    `live: ${meta.name} on ${backend}, latency ${total} s = ${(plan.latency / rate).toFixed(2)} s stream ` +
      `(a ${(plan.window / rate).toFixed(2)} s window every ${Math.round((plan.hop / rate) * 1000)} ms) ` +
      `+ ${Math.round((BLOCK / rate) * 1000)} ms block + ${buffer.toFixed(2)} s buffer`,
  );
  session.timer = setInterval(() => {
    const f = live.figures;
    const speed = f.busy ? (f.received / rate / f.busy).toFixed(1) : '-';
    status(`${$('status').textContent.split(' · ')[0]} · ${speed}x real time · underruns ${f.underruns ?? 0}`);
  }, 1000);
}

function sliders(stems, node) {
  const box = $('stems');
  box.replaceChildren();
  const gains = new Float32Array(stems.length).fill(1);
  stems.forEach((stem, s) => {
    const row = document.createElement('label');
    row.className = 'stem';
    const name = document.createElement('strong');
    name.textContent = stem;
    const slider = document.createElement('input');
    Object.assign(slider, { type: 'range', min: '0', max: '1.5', step: '0.01', value: '1' });
    slider.dataset.stem = stem;
    const value = document.createElement('span');
    value.textContent = '100%';
    slider.oninput = () => {
      gains[s] = Number(slider.value);
      value.textContent = `${Math.round(gains[s] * 100)}%`;
      node.port.postMessage({ type: 'gains', gains });
    };
    row.append(name, slider, value);
    box.append(row);
  });
}

function stop() {
  if (!session) return;
  clearInterval(session.timer);
  for (const track of session.media?.getTracks() ?? []) track.stop();
  session.ctx?.close();
  session.worker.terminate();
  session = null;
  $('start').disabled = false;
  $('stop').disabled = true;
  if (live.state !== 'error') live.state = 'stopped';
}

/** What the worker recorded so far (with ?record=1): {input, stems, received, busy}. */
live.record = () => {
  const got = message(session.worker, 'record');
  session.worker.postMessage({ type: 'record' });
  return got;
};
live.stop = stop;
live.start = () =>
  start().catch((err) => {
    fail(err.message ?? String(err));
  });

$('start').onclick = live.start;
$('stop').onclick = stop;
