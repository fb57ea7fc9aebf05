// The page: pick a model and a song, decode with WebAudio, separate, play and download stems.
// `window.tfsepWeb` mirrors the state for scripts (the browser test reads it).
import { compileModel, fetchModel, loadRuntime } from './model.js';
import { separate } from './separate.js';
import { encodeWav } from './wav.js';

const $ = (id) => document.getElementById(id);
const ui = {
  modelUrl: $('model-url'),
  modelFiles: $('model-files'),
  modelLoad: $('model-load'),
  accelerator: $('accelerator'),
  modelStatus: $('model-status'),
  audio: $('audio-file'),
  separate: $('separate'),
  format: $('wav-format'),
  progress: $('progress'),
  status: $('status'),
  error: $('error'),
  stems: $('stems'),
};
const web = (window.tfsepWeb = { state: 'loading', error: null, model: null, result: null, stems: null });
let model = null; // {meta, backend, runSegment} once loaded
let modelPromise = null;
let output = null; // {track, sampleRate, stems}
let objectUrls = [];

function setState(state, message) {
  web.state = state;
  ui.status.textContent = message;
}

function fail(message) {
  web.state = 'error';
  web.error = message;
  ui.error.textContent = message;
  ui.status.textContent = '';
}

async function loadModel(source) {
  ui.error.textContent = '';
  web.error = null;
  model = null;
  setState('loading', 'loading the model…');
  ui.modelStatus.textContent = 'loading…';
  const t0 = performance.now();
  try {
    const fetched = await fetchModel(source);
    model = await compileModel(fetched, ui.accelerator.value);
  } catch (err) {
    const where = typeof source === 'string' ? '' : ' from the picked files';
    ui.modelStatus.textContent = 'no model loaded';
    fail(
      `Cannot load the model${where}: ${err.message ?? err}\n` +
        'Export one with: tfsep export -m 2stems --format tflite --graph full -o mobile/web/models/2stems_full.tflite',
    );
    throw err;
  }
  const m = model.meta;
  const loadSeconds = (performance.now() - t0) / 1000;
  web.model = { name: m.name, stems: m.stems, sampleRate: m.sample_rate, backend: model.backend, loadSeconds };
  ui.modelStatus.textContent =
    `${m.name}: ${m.stems.join(', ')} · ${m.sample_rate} Hz · ` +
    `segments of ${(m.segment_samples / m.sample_rate).toFixed(1)} s · ${model.backend}`;
  setState('ready', 'pick a song');
  return model;
}

function startModelLoad(source) {
  modelPromise = loadModel(source);
  modelPromise.catch(() => {});
  return modelPromise;
}

async function decode(file, meta) {
  const bytes = await file.arrayBuffer();
  // An OfflineAudioContext at the model's rate: decodeAudioData resamples to it.
  const ctx = new OfflineAudioContext(meta.n_channels, 1, meta.sample_rate);
  let buffer;
  try {
    buffer = await ctx.decodeAudioData(bytes);
  } catch {
    throw new Error(
      `Cannot decode "${file.name}": this browser does not read its format, or the file is damaged. ` +
        'Try WAV, MP3, FLAC, OGG or M4A, or convert it first (ffmpeg -i song.xyz song.wav).',
    );
  }
  if (buffer.length === 0) throw new Error(`"${file.name}" holds no audio samples.`);
  return Array.from({ length: buffer.numberOfChannels }, (_, c) => buffer.getChannelData(c));
}

function showStems() {
  for (const url of objectUrls) URL.revokeObjectURL(url);
  objectUrls = [];
  ui.stems.replaceChildren();
  if (!output) return;
  const bits = Number(ui.format.value);
  for (const [stem, channels] of Object.entries(output.stems)) {
    const url = URL.createObjectURL(encodeWav(channels, output.sampleRate, bits));
    objectUrls.push(url);
    const row = document.createElement('div');
    row.className = 'stem';
    row.dataset.stem = stem;
    const name = document.createElement('strong');
    name.textContent = stem;
    const audio = document.createElement('audio');
    audio.controls = true;
    audio.src = url;
    const link = document.createElement('a');
    link.href = url;
    link.download = `${output.track}_${stem}.wav`;
    link.textContent = 'Download WAV';
    row.append(name, audio, link);
    ui.stems.append(row);
  }
}

async function separateFile(file) {
  if (!model) {
    if (!modelPromise) startModelLoad(ui.modelUrl.value);
    try {
      await modelPromise;
    } catch {
      fail(web.error); // loadModel's message: no model, nothing to separate with
      return;
    }
  }
  ui.error.textContent = '';
  web.error = null;
  web.result = null;
  output = null;
  showStems();
  ui.progress.value = 0;
  const controls = [ui.audio, ui.separate, ui.modelFiles, ui.modelLoad];
  for (const el of controls) el.disabled = true; // one separation at a time
  try {
    const { meta, runSegment, backend } = model;
    setState('decoding', `decoding ${file.name}…`);
    const channels = await decode(file, meta);
    const seconds = channels[0].length / meta.sample_rate;
    setState('separating', `separating ${seconds.toFixed(1)} s…`);
    const t0 = performance.now();
    let segments = 0;
    const stems = await separate(channels, meta, runSegment, {
      onProgress: async (done, total) => {
        segments = total;
        const elapsed = (performance.now() - t0) / 1000;
        const eta = (elapsed / done) * (total - done);
        ui.progress.value = done / total;
        ui.status.textContent = `segment ${done} of ${total} · ${elapsed.toFixed(1)} s, about ${eta.toFixed(0)} s left`;
        await new Promise((resolve) => setTimeout(resolve, 0)); // let the bar repaint
      },
    });
    const wall = (performance.now() - t0) / 1000;
    output = { track: file.name.replace(/\.[^.]*$/, ''), sampleRate: meta.sample_rate, stems };
    web.stems = stems;
    web.result = {
      stems: meta.stems,
      audioSeconds: seconds,
      seconds: wall,
      xRealTime: seconds / wall,
      segments,
      backend,
    };
    showStems();
    setState('done', `done: ${seconds.toFixed(1)} s of audio in ${wall.toFixed(1)} s (${(seconds / wall).toFixed(2)}x real time, ${backend})`);
  } catch (err) {
    fail(err.message ?? String(err));
  } finally {
    for (const el of controls) el.disabled = false;
    ui.separate.disabled = !ui.audio.files.length;
  }
}

// Picking a file starts at once; the button re-runs it (a browser fires no change for the same file).
ui.audio.addEventListener('change', () => {
  ui.separate.disabled = !ui.audio.files.length;
  if (ui.audio.files.length) separateFile(ui.audio.files[0]);
});
ui.separate.addEventListener('click', () => {
  if (ui.audio.files.length) separateFile(ui.audio.files[0]);
});
ui.modelLoad.addEventListener('click', () => startModelLoad(ui.modelUrl.value));
ui.modelFiles.addEventListener('change', () => {
  if (ui.modelFiles.files.length) startModelLoad(ui.modelFiles.files);
});
ui.format.addEventListener('change', showStems);

const params = new URLSearchParams(location.search);
if (params.has('model')) ui.modelUrl.value = params.get('model');
if (params.has('accelerator')) ui.accelerator.value = params.get('accelerator');
loadRuntime()
  .then(() => {
    startModelLoad(ui.modelUrl.value); // reports its own errors
  })
  .catch((err) => fail(`Cannot start LiteRT.js: ${err.message ?? err}`));
