// The engine's worker: it owns the Pyodide interpreter and answers one message at a time.
// Protocol (plain JSON both ways):
//   {id, op: "init", request: config}           -> {id, result: {timings, snapshot}} or {id, error}
//   {id, op: "compare"|"quote"|..., request}    -> {id, result: engine response} or {id, error}
// `config` gives indexURL (the pinned Pyodide files), archiveURL (the simulator package as a
// zip) and snapshotURL (a memory snapshot with the engine imported, made at build time).

const ENGINE_DIR = "/home/pyodide/engine";
let engine = null;

async function fetchBytes(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${response.status} on ${url}`);
  return new Uint8Array(await response.arrayBuffer());
}

const CACHE_NAME = "ac-engine";

/**
 * Bytes of a content-hashed file, kept decoded in the Cache Storage after the first visit:
 * the HTTP cache holds the snapshot gzipped and would inflate 31 MB on every visit.
 */
async function cachedBytes(url) {
  let cache = null;
  try {
    cache = await caches.open(CACHE_NAME);
    const hit = await cache.match(url);
    if (hit) return new Uint8Array(await hit.arrayBuffer());
  } catch {
    cache = null; // no Cache Storage here (private mode, opaque origin): plain fetch
  }
  const bytes = await fetchBytes(url);
  if (cache) {
    // Stored once the engine has started (see start), so the write never delays it.
    keep = async () => {
      try {
        for (const request of await cache.keys()) if (request.url !== url) await cache.delete(request);
        await cache.put(url, new Response(bytes, { headers: { "Content-Type": "application/octet-stream" } }));
      } catch {
        // A full or refused cache only costs speed on the next visit; older engines' files go.
      }
    };
  }
  return bytes;
}

let keep = null; // stores the snapshot in the Cache Storage, when it came from the network

async function start(config) {
  const t0 = performance.now();
  // Every download starts now, side by side with compiling the runtime.
  const archive = fetchBytes(config.archiveURL);
  const snapshot = config.snapshotURL ? cachedBytes(config.snapshotURL) : null;
  snapshot?.catch(() => {}); // a failed download is handled where it is awaited: no unhandled rejection
  const { loadPyodide } = await import(`${config.indexURL}pyodide.mjs`);
  const quiet = { stdout: () => {}, stderr: () => {} };
  let pyodide;
  let fromSnapshot = false;
  if (snapshot) {
    try {
      pyodide = await loadPyodide({ indexURL: config.indexURL, _loadSnapshot: snapshot, ...quiet });
      fromSnapshot = true;
    } catch (error) {
      // A missing or stale snapshot costs speed, never the engine: boot Python the usual way.
      console.warn("snapshot not used:", error);
    }
  }
  pyodide ??= await loadPyodide({ indexURL: config.indexURL, ...quiet });
  const t1 = performance.now();
  pyodide.unpackArchive(await archive, "zip", { extractDir: ENGINE_DIR });
  const handleJson = pyodide.runPython(`
import sys
if "${ENGINE_DIR}" not in sys.path:
    sys.path.insert(0, "${ENGINE_DIR}")
import simulator
simulator.handle_json`);
  const t2 = performance.now();
  keep?.();
  return {
    handleJson,
    info: {
      snapshot: fromSnapshot,
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
