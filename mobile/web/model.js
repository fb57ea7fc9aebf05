// Load LiteRT.js (WASM from node_modules, served by this page's own server)
// and a tfsep TFLite export; wrap one segment's call.
import { importLiteRt } from './litert.js';
import { checkMetadata } from './separate.js';

const WASM_DIR = new URL('./node_modules/@litertjs/core/wasm/', import.meta.url).href;

let runtime;

/** Load the LiteRT WASM runtime once; threaded when the page is cross-origin isolated (serve.py). */
export function loadRuntime() {
  runtime ??= (async () => {
    const { getWebGpuDevice, isWebGPUSupported, loadLiteRt, supportsFeature } = await importLiteRt();
    const threads =
      self.crossOriginIsolated && (await supportsFeature('relaxedSimd')) && (await supportsFeature('threads'));
    if (typeof document === 'undefined') {
      // In a worker, Emscripten looks for the .wasm (and its threads' script) beside the worker's own
      // script: point it at the runtime's folder.
      self.Module = { locateFile: (file) => WASM_DIR + file };
      if (threads) self.Module.mainScriptUrlOrBlob = `${WASM_DIR}litert_wasm_threaded_internal.js`;
    }
    await loadLiteRt(WASM_DIR, { threads });
    return { threads, webgpu: isWebGPUSupported() && Boolean(getWebGpuDevice()) };
  })();
  return runtime;
}

async function fetchBytes(url) {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url} answered HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

/** Model bytes + metadata from a URL (MODEL.json beside MODEL.tflite) or from picked files. */
export async function fetchModel(source) {
  if (typeof source === 'string') {
    // The small .json first: a wrong export is refused before its weights download.
    const jsonUrl = source.replace(/\.tflite(\?.*)?$/, '.json$1');
    const meta = checkMetadata(JSON.parse(new TextDecoder().decode(await fetchBytes(jsonUrl))));
    return { bytes: await fetchBytes(source), meta, name: source.split('/').pop() };
  }
  const files = Array.from(source);
  const tfl = files.find((f) => f.name.endsWith('.tflite'));
  const json = files.find((f) => f.name.endsWith('.json'));
  if (!tfl || !json) throw new Error('pick both files of the export: MODEL.tflite and MODEL.json');
  return {
    bytes: new Uint8Array(await tfl.arrayBuffer()),
    meta: JSON.parse(await json.text()),
    name: tfl.name,
  };
}

function sameShape(a, b) {
  return a.length === b.length && Array.from(a).every((v, i) => v === b[i]);
}

/**
 * Compile a fetched model on `accelerator` ('auto', 'wasm' or 'webgpu').
 *
 * Returns {meta, backend, runSegment}; 'auto' takes WebGPU where the browser
 * has a device and falls back to WASM (XNNPACK) when it cannot compile there.
 */
export async function compileModel({ bytes, meta }, accelerator = 'auto') {
  meta = checkMetadata(meta);
  const info = await loadRuntime();
  const { Tensor, loadAndCompile } = await importLiteRt();
  const wanted = accelerator === 'auto' ? (info.webgpu ? 'webgpu' : 'wasm') : accelerator;
  let model;
  let backend = wanted;
  try {
    model = await loadAndCompile(bytes, { accelerator: wanted });
  } catch (err) {
    if (wanted === 'wasm' || accelerator !== 'auto') throw err;
    console.warn(`WebGPU compile failed, using WASM: ${err}`);
    model = await loadAndCompile(bytes, { accelerator: 'wasm' });
    backend = 'wasm';
  }
  const C = meta.n_channels;
  const S = meta.segment_samples;
  const [input] = model.getInputDetails();
  const [output] = model.getOutputDetails();
  if (!sameShape(input.shape, [S, C]) || !sameShape(output.shape, [meta.stems.length, S, C])) {
    throw new Error(
      `model tensors (${input.shape} -> ${output.shape}) do not match its .json ` +
        `(${S},${C} -> ${meta.stems.length},${S},${C})`,
    );
  }
  const runSegment = async (segment) => {
    const tensor = new Tensor(segment, [S, C]);
    let outputs;
    try {
      outputs = await model.run([tensor]);
      return await outputs[0].data();
    } finally {
      tensor.delete();
      for (const t of outputs ?? []) t.delete();
    }
  };
  return { meta, backend: backend === 'wasm' && info.threads ? 'wasm (threads)' : backend, runSegment };
}
