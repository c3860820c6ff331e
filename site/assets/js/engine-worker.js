// The engine's worker: it owns the Pyodide interpreter and answers one message at a time.
// Protocol (plain JSON both ways):
//   {id, op: "init", request: config}           -> {id, result: {timings, marks, snapshot}} or {id, error}
//   {id, op: "compare"|"quote"|..., request}    -> {id, result: engine response} or {id, error}
// `config` gives indexURL (the pinned Pyodide files), archiveURL (the simulator package as a
// zip), snapshotURL and snapshotSize (a memory snapshot with the engine imported, made at build
// time, and its size in bytes). The page may also put the config, as JSON, in the fragment of
// this script's URL: the engine then starts as soon as the script runs (see the end).

const ENGINE_DIR = "/home/pyodide/engine";
const CACHE_NAME = "ac-engine";
// What Pyodide gets instead of python_stdlib.zip when it restores the snapshot: a zip with no
// file (its end record only). Every module the engine uses is already in the snapshot's memory,
// so the 2.5 MB download would only serve an import nobody makes; tests/test_cross_runtime.py
// runs every request against the snapshot with this same empty library to keep it so.
const EMPTY_ZIP = "data:application/zip;base64,UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA==";

let engine = null;

async function fetchBytes(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${response.status} on ${url}`);
  return new Uint8Array(await response.arrayBuffer());
}

/**
 * The snapshot, read into a buffer of its final size as its bytes arrive. Pyodide gets the
 * buffer at once, so it compiles the runtime meanwhile (it would otherwise wait for the whole
 * file before compiling); `complete` settles when every byte is in. The file is kept decoded in
 * the Cache Storage after the first visit: the HTTP cache holds it gzipped and would inflate
 * 31 MB on every visit. `keep` stores it, to be called once the engine runs so the write never
 * delays the start.
 */
function snapshotReader(url, size) {
  const bytes = new Uint8Array(size);
  const state = { bytes, keep: null };
  state.complete = (async () => {
    let cache = null;
    let response = null;
    try {
      cache = await caches.open(CACHE_NAME);
      response = await cache.match(url);
    } catch {
      cache = null; // no Cache Storage here (private mode, opaque origin): plain fetch
    }
    const fromNetwork = !response;
    if (fromNetwork) {
      response = await fetch(url);
      if (!response.ok) throw new Error(`${response.status} on ${url}`);
    }
    const reader = response.body.getReader();
    let offset = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (offset + value.length > size) throw new Error(`snapshot larger than ${size} bytes`);
      bytes.set(value, offset);
      offset += value.length;
    }
    if (offset !== size) throw new Error(`snapshot of ${offset} bytes, ${size} expected`);
    if (cache && fromNetwork) {
      state.keep = async () => {
        try {
          for (const request of await cache.keys()) if (request.url !== url) await cache.delete(request);
          await cache.put(url, new Response(bytes, { headers: { "Content-Type": "application/octet-stream" } }));
        } catch {
          // A full or refused cache only costs speed on the next visit; older engines' files go.
        }
      };
    }
  })();
  state.complete.catch(() => {}); // a failed download is handled where it is awaited
  return state;
}

async function start(config) {
  const t0 = performance.now();
  // Milliseconds from t0 at which each step ended; `origin` + `start` put them on the page's clock.
  const marks = {};
  const mark = (name) => {
    marks[name] = performance.now() - t0;
  };
  // Every download starts now, side by side with compiling the runtime.
  const archive = fetchBytes(config.archiveURL);
  archive.catch(() => {});
  const snapshot = config.snapshotURL && config.snapshotSize ? snapshotReader(config.snapshotURL, config.snapshotSize) : null;
  snapshot?.complete.then(() => mark("snapshot_bytes"));
  // The loader asks for pyodide.asm.mjs only after its own import and settings: ask now.
  const asm = import(`${config.indexURL}pyodide.asm.mjs`);
  asm.catch(() => {});
  const { loadPyodide } = await import(`${config.indexURL}pyodide.mjs`);
  mark("loader");
  let restoring = null; // the snapshot being restored: the runtime must not start before its bytes are in
  const createPyodideModule = async (settings) => {
    mark("module");
    const instantiate = settings.instantiateWasm;
    settings.instantiateWasm = (imports, done) =>
      instantiate(imports, (instance, module) => {
        mark("wasm");
        done(instance, module);
      });
    const module = await (await asm).default(settings);
    mark("created");
    await restoring?.complete;
    return module;
  };
  const options = { indexURL: config.indexURL, createPyodideModule, stdout: () => {}, stderr: () => {} };
  let pyodide;
  let fromSnapshot = false;
  if (snapshot) {
    try {
      restoring = snapshot;
      pyodide = await loadPyodide({ ...options, _loadSnapshot: snapshot.bytes, stdLibURL: EMPTY_ZIP });
      fromSnapshot = true;
    } catch (error) {
      // A missing or stale snapshot costs speed, never the engine: boot Python the usual way.
      console.warn("snapshot not used:", error);
      restoring = null;
    }
  }
  pyodide ??= await loadPyodide(options);
  const t1 = performance.now();
  mark("runtime");
  pyodide.unpackArchive(await archive, "zip", { extractDir: ENGINE_DIR });
  const handleJson = pyodide.runPython(`
import sys
if "${ENGINE_DIR}" not in sys.path:
    sys.path.insert(0, "${ENGINE_DIR}")
import simulator
simulator.handle_json`);
  const t2 = performance.now();
  mark("engine");
  if (fromSnapshot) snapshot.keep?.();
  return {
    handleJson,
    info: {
      snapshot: fromSnapshot,
      origin: performance.timeOrigin,
      start: t0,
      marks,
      timings: { runtime_ms: t1 - t0, engine_ms: t2 - t1, total_ms: t2 - t0 },
    },
  };
}

self.onmessage = async (event) => {
  const { id, op, request } = event.data;
  try {
    if (op === "init") {
      engine ??= start(request);
      self.postMessage({ id, result: (await engine).info });
      return;
    }
    if (!engine) throw new Error("engine not started: send init first");
    const { handleJson } = await engine;
    const text = handleJson(JSON.stringify({ ...request, op }));
    self.postMessage({ id, result: JSON.parse(text) });
  } catch (error) {
    self.postMessage({ id, error: String(error?.message ?? error) });
  }
};

// A message posted when the page creates the worker is handed over only once the page's main
// thread gets to it, which can be 100 ms or more while it lays the page out: start from the URL.
if (self.location.hash.length > 1) {
  try {
    engine = start(JSON.parse(decodeURIComponent(self.location.hash.slice(1))));
    engine.catch(() => {}); // reported to the page by the init message
  } catch {
    engine = null; // a fragment that is not a config: wait for init
  }
}
