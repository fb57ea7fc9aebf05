// LiteRT.js for the page and for Web Workers alike.
//
// The page resolves '@litertjs/core' through its import map; a worker has no
// import map, so there the module's one bare import ('@litertjs/wasm-utils')
// is pointed at that package's file and the module is imported from a blob.

const CORE = new URL('./node_modules/@litertjs/core/dist/index.js', import.meta.url).href;
const UTILS = new URL('./node_modules/@litertjs/wasm-utils/dist/index.js', import.meta.url).href;

let lib;

/** The @litertjs/core module (imported once). */
export function importLiteRt() {
  lib ??= (async () => {
    if (typeof document !== 'undefined') return import('@litertjs/core');
    const res = await fetch(CORE);
    if (!res.ok) throw new Error(`${CORE} answered HTTP ${res.status}`);
    const source = (await res.text()).replaceAll('"@litertjs/wasm-utils"', JSON.stringify(UTILS));
    const url = URL.createObjectURL(new Blob([source], { type: 'text/javascript' }));
    try {
      return await import(url);
    } finally {
      URL.revokeObjectURL(url);
    }
  })();
  return lib;
}
