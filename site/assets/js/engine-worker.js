// The engine's worker: it owns the Pyodide interpreter and answers one message at a time.
// Protocol (plain JSON both ways):
//   {id, op: "init", request: config}           -> {id, result: {timings, marks, snapshot, sources}} or {id, error}
//   {id, op: "compare"|"quote"|..., request}    -> {id, result: engine response} or {id, error}
// While the engine starts, the worker also posts {progress: {step, steps}}: steps (3) are the wasm
// compiled, the snapshot's bytes in and the runtime restored, step how many have ended; the init
// answer ends the start.
// `config` gives indexURL (the pinned Pyodide files), lockInfo (the `info` of its lock file),
// snapshotURL, snapshotSize and staticSize (a memory snapshot with the engine imported and its
// tariffs read, made at build time; the size of its memory in bytes; how many bytes at the start
// of the memory the wasm's data segments set, where the snapshot's copies come from),
// leanWasmURL (the lean runtime: the wasm with only the functions the engine's requests reach,
// see site/hooks/engine_assets.py),
// archiveURL (the simulator package as a zip, fetched only when Python boots without the
// snapshot), cached (true when the page noted that an earlier visit kept the wasm and the
// snapshot, see keptFiles) and keptIn ("disk" or "cache": where to keep them, when the browser
// offers both; the private file system by default); for tests, digestImage asks for
// `imageDigest` in the answer, the SHA-256 of the runtime's memory as the snapshot's image left
// it, its stack (`deadStack`, [low, high) addresses, see snapshotReader's writeImage) zeroed. The
// page may also put the config, as JSON, in the fragment of this script's URL: the engine then
// starts as soon as the script runs (see the end).
// `sources` tells where the wasm and the snapshot were read from: "disk" (the origin's private
// file system) or "cache" (Cache Storage), kept by an earlier visit; "network"; or for the wasm
// "loader (reason)" when Pyodide compiled it.
// `runtime` is "lean" or "full"; `fallback` says why the full runtime took over, or is null.
// A request the lean runtime cannot answer (it reaches a function it lacks: the call traps) is
// answered by the full runtime, restored from the same snapshot; it then answers every request.

const ENGINE_DIR = "/home/pyodide/engine";
// Where the engine's files are kept between visits (see keptFiles): a folder or a cache of this name.
const KEPT_NAME = "ac-engine";
// What Pyodide gets instead of python_stdlib.zip when it restores the snapshot: a zip with no
// file (its end record only). Every module the engine uses is already in the snapshot's memory,
// so the 2.5 MB download would only serve an import nobody makes; tests/test_cross_runtime.py
// runs every request against the snapshot with this same empty library to keep it so.
const EMPTY_ZIP = "data:application/zip;base64,UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA==";
// Room for Pyodide's snapshot header (144 bytes for this engine's): see snapshotReader.
const SNAPSHOT_HEADER_ROOM = 64 * 1024;

let engine = null;
// This worker's own downloads use the real fetch, even while withCompiledWasm stands in for it.
const fetchHere = self.fetch.bind(self);

async function fetchOk(url) {
  const response = await fetchHere(url);
  if (!response.ok) throw new Error(`${response.status} on ${url}`);
  return response;
}

/** A kept file's name: the last part of its URL (the engine's files have content-hashed names). */
function fileName(url) {
  return url.slice(url.lastIndexOf("/") + 1);
}

/**
 * Where a visit keeps the engine's big files for the next one, decoded (the HTTP cache holds them
 * compressed and would inflate them on every visit): the origin's private file system where the
 * browser lets a worker read its files synchronously, else Cache Storage; ``keptIn`` ("disk" or
 * "cache") may choose. Nothing is opened before a read or a keep. `read(url)` settles with
 * `{bytes}` or `{response}`, or null for a file not kept (or refused); `keep(files)` stores the
 * files given a Blob and drops every other one, so an older engine's files go (``files`` maps each
 * URL in use to a function giving `{blob, type}`, or null for a file already kept).
 */
function keptFiles(keptIn) {
  const disk = typeof FileSystemSyncAccessHandle === "function" && typeof navigator.storage?.getDirectory === "function";
  return (keptIn ?? (disk ? "disk" : "cache")) === "disk" && disk ? diskFiles() : cacheFiles();
}

/**
 * The origin's private file system, folder KEPT_NAME. A file is read whole in one call on this
 * thread, where Cache Storage hands a Blob over in chunks, each a task of this thread, while the
 * runtime's start also needs it: the wasm's bytes were in 45 ms sooner (90% interval 1 to 70; 15
 * interleaved warm loads). The reads run one after the other, a task apart, in the order asked: the
 * wasm first, so that its compile (off this thread) starts before the snapshot's 9 MB are read.
 * A file is written whole or not at all (createWritable writes a copy and swaps it in on close);
 * a file of the right name left empty by a visit cut short is read as missing.
 */
function diskFiles() {
  const folder = (create) => navigator.storage.getDirectory().then((root) => root.getDirectoryHandle(KEPT_NAME, { create }));
  let reading = null;
  let turn = Promise.resolve();
  return {
    store: "disk",
    read(url) {
      reading ??= folder(false);
      const handle = reading
        .then((dir) => dir.getFileHandle(fileName(url)))
        .then((file) => file.createSyncAccessHandle({ mode: "read-only" }));
      const read = turn.then(() => handle).then(
        (open) => {
          try {
            const size = open.getSize();
            const bytes = new Uint8Array(size);
            return size > 0 && open.read(bytes, { at: 0 }) === size ? { bytes } : null;
          } finally {
            open.close();
          }
        },
        () => null, // not kept, or refused (a browser that locks the file while another tab reads it)
      );
      turn = read.then(() => new Promise((resolve) => setTimeout(resolve, 0)));
      return read;
    },
    // Each step waits for this thread, which the page's first requests keep busy once the engine
    // is ready (the first ones take 50 to 100 ms), and a page closed before a file is swapped in
    // keeps nothing of it: the files are written side by side, and the old ones dropped after.
    // Both were whole 0.3 to 0.4 s after ready, against 0.4 to 0.5 s written one after the other.
    async keep(files) {
      const dir = await folder(true);
      const write = async (url, kept) => {
        const writer = await (await dir.getFileHandle(fileName(url), { create: true })).createWritable();
        try {
          await writer.write(kept.blob);
          await writer.close();
        } catch (error) {
          await writer.abort().catch(() => {});
          throw error;
        }
      };
      const writes = Object.entries(files).map(([url, toKeep]) => [url, toKeep()]);
      await Promise.all(writes.filter(([, kept]) => kept).map(([url, kept]) => write(url, kept)));
      // Another tab's file being written (Chromium writes NAME.crswap, then swaps it in) is left alone.
      const names = new Set(writes.map(([url]) => fileName(url)));
      for await (const name of dir.keys()) {
        if (!names.has(name) && !name.endsWith(".crswap")) await dir.removeEntry(name).catch(() => {});
      }
    },
  };
}

/** Cache Storage, cache KEPT_NAME (see keptFiles); none in private modes or opaque origins. */
function cacheFiles() {
  let opened = null;
  const open = () => (opened ??= caches.open(KEPT_NAME));
  return {
    store: "cache",
    async read(url) {
      const response = await (await open()).match(url);
      return response ? { response } : null;
    },
    async keep(files) {
      const cache = await open();
      for (const request of await cache.keys()) if (!(request.url in files)) await cache.delete(request);
      for (const [url, toKeep] of Object.entries(files)) {
        const kept = toKeep();
        if (kept) await cache.put(url, new Response(kept.blob, { headers: { "Content-Type": kept.type } }));
      }
    },
  };
}

/**
 * ``url``'s bytes or response: the copy ``kept`` holds (null: go to the network at once), else the
 * network's response. Kept bytes must pass ``check``; a kept Response is checked as it is read (by
 * V8's compile, or readSparse). A kept file that cannot be read costs a download.
 */
async function keptOrFetched(kept, url, check) {
  let found = null;
  try {
    found = await kept?.read(url);
  } catch {
    found = null;
  }
  if (found?.response || (found?.bytes && check(found.bytes))) return { ...found, cached: true };
  return { response: await fetchOk(url), cached: false };
}

/** The SHA-256 of ``bytes``, in hexadecimal. */
async function sha256(bytes) {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** An error's message, first line only: why the full runtime took over. */
function firstLine(error) {
  return String(error?.message ?? error).split("\n", 1)[0];
}

async function fetchBytes(url) {
  return new Uint8Array(await (await fetchOk(url)).arrayBuffer());
}

/**
 * The published snapshot ``data`` (format in site/hooks/engine_assets.py), read: `table`, the
 * file's own table as little-endian u32s (the byte order of every host that runs wasm), `runs`
 * pairs [offset, length] for what the file carries, then `copies` triples [offset, address,
 * length] for static data the runtime's memory holds right after instantiation, within its first
 * ``staticSize`` bytes; `start`, where the runs' bytes begin. Offsets are the snapshot's (Pyodide's
 * header, then the memory image), in order in each list; every other byte of its ``size`` is zero.
 * The loops over the 2,295 entries index the table directly: written with an array per entry and
 * destructuring, V8's optimising compilers compiled them again in the background while the engine
 * started (14 and 21 ms of a processor in two warm loads under --trace-opt, against 2 now), and the
 * entries made work for the collector.
 */
function readSparse(data, size, staticSize) {
  if (data.length < 16) throw new Error("snapshot shorter than its header");
  const head = new DataView(data.buffer, data.byteOffset, 16);
  const word = (at) => head.getUint32(at, true);
  if (String.fromCharCode(...data.subarray(0, 4)) !== "ACSP") throw new Error("not a sparse snapshot");
  if (word(4) !== size) throw new Error(`snapshot of ${word(4)} bytes, ${size} expected`);
  const runs = word(8);
  const copies = word(12);
  const start = 16 + 8 * runs + 12 * copies;
  if (data.length < start) throw new Error("snapshot shorter than its table");
  const table =
    data.byteOffset % 4 === 0
      ? new Uint32Array(data.buffer, data.byteOffset + 16, (start - 16) / 4)
      : new Uint32Array(data.slice(16, start).buffer);
  let position = start;
  let reach = 0;
  for (let i = 0; i < 2 * runs; i += 2) {
    const offset = table[i];
    const length = table[i + 1];
    if (offset < reach) throw new Error("the snapshot's runs are not in order");
    reach = offset + length;
    if (reach > size) throw new Error("a run of the snapshot lies outside it");
    position += length;
    if (position > data.length) throw new Error("snapshot shorter than its runs");
  }
  if (position !== data.length) throw new Error("snapshot longer than its runs");
  reach = 0;
  for (let i = 2 * runs; i < 2 * runs + 3 * copies; i += 3) {
    const offset = table[i];
    if (offset < reach) throw new Error("the snapshot's copies are not in order");
    reach = offset + table[i + 2];
    if (reach > size) throw new Error("a copy of the snapshot lies outside it");
    if (table[i + 1] + table[i + 2] > staticSize) throw new Error("a copy of the snapshot lies outside the static data");
  }
  return { data, table, runs, copies, start };
}

/**
 * Write what the snapshot ``sparse`` holds in [from, to) (its offsets) into ``target``, ``shift``
 * bytes lower; ``image`` is the fresh runtime's static data, where the copies come from. Only
 * bytes the file carries or copies are written: ``target`` must hold zeros elsewhere.
 */
function writeSnapshotPart(target, sparse, image, from, to, shift) {
  const { data, table, runs, copies } = sparse;
  // The part of [offset, end) within [from, to), taken from ``source`` where `at` holds `offset`.
  const put = (source, at, offset, end) => {
    const first = offset > from ? offset : from;
    const last = end < to ? end : to;
    if (last > first) target.set(source.subarray(at + first - offset, at + last - offset), first - shift);
  };
  let position = sparse.start;
  for (let i = 0; i < 2 * runs && table[i] < to; i += 2) {
    put(data, position, table[i], table[i] + table[i + 1]);
    position += table[i + 1];
  }
  for (let i = 2 * runs; i < 2 * runs + 3 * copies && table[i] < to; i += 3) {
    put(image, table[i + 1], table[i], table[i] + table[i + 2]);
  }
}

/**
 * ``url``'s bytes, kept by an earlier visit or from the network (see keptOrFetched; ``check`` tells
 * a whole kept copy), for ``state``: it gets `responded`, `cached` and `toKeep()`, what to keep for
 * the next visit (`{blob, type}`, or null when the file was kept already). A response's body is
 * collected as a Blob, which Chromium fills outside this thread: read here, chunk by chunk or
 * streamed to the compiler, the download waited for this thread, busy with the runtime's start.
 */
function downloaded(state, kept, url, type, check) {
  state.toKeep = () => null;
  state.responded = keptOrFetched(kept, url, check);
  return (async () => {
    const { response, bytes, cached } = await state.responded;
    state.cached = cached;
    if (bytes) return bytes;
    const blob = await response.blob();
    if (!cached) state.toKeep = () => ({ blob, type });
    return new Uint8Array(await blob.arrayBuffer());
  })();
}

/** Whether ``bytes`` start as a wasm module does; V8's compile checks the rest. */
function wasmModule(bytes) {
  return bytes.length > 8 && bytes[0] === 0 && bytes[1] === 0x61 && bytes[2] === 0x73 && bytes[3] === 0x6d;
}

/**
 * The snapshot, for Pyodide's loader and the runtime. Pyodide gets `bytes` at once, so it
 * compiles the runtime meanwhile (it would otherwise wait for the whole file); `complete` settles
 * when every byte of the file is in. Collected whole (see downloaded), the file ended before the
 * runtime was ready for it rather than after (740 instead of 784 ms from navigation; medians of
 * 11 cold loads, lean runtime). `bytes` holds only Pyodide's header, which it reads (writeHeader;
 * the runtime's memory has the image's size from the start, as the wasm declares it): the memory
 * image is written straight into the runtime's memory (writeImage), where Pyodide would copy all of
 * it from a buffer of the snapshot's size.
 * Without that 31 MB buffer, V8 ran no major collection at the runtime's instantiation (5 and 8 ms
 * of this thread in two traces), and the step from the runtime created to ready took 54 instead of
 * 62 ms (medians of 21 interleaved cold loads).
 */
function snapshotReader(kept, url, size, staticSize) {
  const bytes = new Uint8Array(SNAPSHOT_HEADER_ROOM);
  const state = { bytes };
  // A kept copy is read once, to check it: that reading serves when its bytes are handed over.
  let checked = null;
  const whole = (data) => {
    try {
      checked = readSparse(data, size, staticSize);
      return true;
    } catch {
      return false;
    }
  };
  state.complete = downloaded(state, kept, url, "application/octet-stream", whole).then((data) =>
    checked?.data === data ? checked : readSparse(data, size, staticSize),
  );
  state.complete.catch(() => {}); // reported where `complete` is awaited
  let sparse = null;
  let image = null;
  let header = 0;
  /**
   * Keep the static data of ``instance``'s memory, as its data segments set it: no code has run.
   * It goes into ``spare`` when given (the wasm's own bytes, which V8 no longer needs once the
   * module is compiled, see wasmCompiler), whose pages the worker already holds: a new buffer made
   * the system hand over 3.8 MB more, page by page.
   */
  state.keepStatic = (instance, spare) => {
    image = spare?.length >= staticSize ? spare.subarray(0, staticSize) : new Uint8Array(staticSize);
    image.set(new Uint8Array(instance.exports.memory.buffer, 0, staticSize));
  };
  /** Once every byte is in, write Pyodide's header (what precedes the memory image) to `bytes`. */
  state.writeHeader = async () => {
    sparse = await state.complete;
    if (!image) throw new Error("the runtime's static data was not kept");
    writeSnapshotPart(bytes, sparse, image, 0, 8, 0);
    header = new DataView(bytes.buffer).getUint32(4, true);
    if (header < 8 || header > bytes.length) throw new Error(`snapshot header of ${header} bytes`);
    writeSnapshotPart(bytes, sparse, image, 8, header, 0);
  };
  /**
   * Make ``memory`` (the runtime's, as a Uint8Array) equal the snapshot's image, which Pyodide
   * hands over as ``view`` (`bytes` past the header: only where it starts counts), except in
   * ``deadStack`` ([low, high) addresses, or null): a stack with no live frame, which no code reads
   * before writing it. The runtime's start has written only below ``brk`` (its heap's end: its
   * static data, its stack, which grows down from the heap's start, and a few allocations), so only
   * that part is zeroed, the dead stack left out: everything above, two thirds of the memory, and
   * the 10 MB stack but for the top its start used, are left alone (the system gives those pages
   * only as the runs are written; the snapshot carries no byte in most of the stack). Then the
   * runs and copies, the stack's included. Zeroing the stack as well made the system give the
   * runtime 10 MB more, page by page.
   */
  state.writeImage = (memory, view, brk, deadStack) => {
    if (view.buffer !== bytes.buffer || view.byteOffset !== header) throw new Error("not this snapshot's image");
    if (memory.length < size - header) throw new Error("the runtime's memory is smaller than the snapshot");
    const end = Math.min(brk, size - header);
    const [low, high] = deadStack && 0 <= deadStack[0] && deadStack[0] <= deadStack[1] ? deadStack : [end, end];
    memory.fill(0, 0, Math.min(low, end));
    if (high < end) memory.fill(0, high, end);
    writeSnapshotPart(memory, sparse, image, header, size, header);
    image = null;
  };
  return state;
}

/** Each compiled runtime's table slots (see tableSlots), for its instantiation. */
const slotsOf = new WeakMap();
/** Each compiled runtime's wasm bytes, free to be written over once compiled (see keepStatic). */
const spareOf = new WeakMap();
const SLOTS_SECTION = "ac.slots";

/**
 * The table slots the build wrote into the compiled ``module`` (the lean runtime), as tableSlots
 * gives them, or null when it has no such section. The section (SLOTS_SECTION in
 * site/hooks/engine_assets.py) holds little-endian i32s: how many functions have a slot, then each
 * function's last slot, or -1. Decoding the element segment here instead took a loop that V8's
 * optimising compilers compiled again in the background while the engine started (13 and 107 ms of
 * a processor in two warm loads under --trace-opt).
 */
function sectionSlots(module) {
  const [section] = WebAssembly.Module.customSections(module, SLOTS_SECTION);
  if (!section || section.byteLength < 4 || section.byteLength % 4) return null;
  const table = new Int32Array(section);
  return { size: table[0], get: (index) => (index >= 0 && table[index + 1] >= 0 ? table[index + 1] : undefined) };
}

/**
 * Where the table of the wasm module ``bytes`` holds each function once instantiated: `get(index)`
 * gives a function's last slot (the one a scan of the whole table would note), or undefined, and
 * `size` how many functions have one, read from the module's element segment; null for a module
 * whose table is filled some other way, or for bytes that are not a whole module (V8's compile
 * then says what is wrong). The slots are kept in a typed array, not a Map of 7,752 entries that
 * the worker's collector would copy while the runtime starts. The runtime's
 * linker looks up the slots of about 240 functions at start-up: given these (the edited
 * addFunctionsAtOnce, site/hooks/engine_assets.py), it no longer reads the table's 18,733 slots,
 * which makes V8 create a function object for each of the 8,732 filled ones.
 */
function tableSlots(bytes) {
  let at = 8;
  // One LEB128 number at `at`, unsigned (or signed); RangeError past the end.
  const uleb = () => {
    let value = 0;
    for (let shift = 0; ; shift += 7) {
      if (at >= bytes.length) throw new RangeError("the module ends too soon");
      const byte = bytes[at++];
      value += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return value;
    }
  };
  const sleb = () => {
    const start = at;
    const value = uleb();
    const bits = 7 * (at - start);
    return bytes[at - 1] & 0x40 ? value - 2 ** bits : value;
  };
  try {
    while (at < bytes.length) {
      const id = bytes[at++];
      const end = uleb() + at;
      if (id !== 9) {
        at = end;
        continue;
      }
      let last = new Int32Array(1 << 14).fill(-1);
      let size = 0;
      for (let segments = uleb(); segments > 0; segments--) {
        if (uleb() !== 0 || bytes[at++] !== 0x41) return null;
        const offset = sleb();
        if (offset < 0 || bytes[at++] !== 0x0b) return null;
        for (let i = 0, count = uleb(); i < count; i++) {
          const index = uleb();
          if (index >= last.length) {
            const grown = new Int32Array(Math.max(index + 1, 2 * last.length)).fill(-1);
            grown.set(last);
            last = grown;
          }
          if (last[index] < 0) size++;
          last[index] = offset + i;
        }
      }
      if (at !== end) return null;
      return { size, get: (index) => (last[index] >= 0 ? last[index] : undefined) };
    }
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
  }
  return null;
}

/**
 * The runtime's wasm, compiled as soon as the worker starts. Pyodide's loader would fetch and
 * compile it only once its own two modules are imported (about 40 ms later), and from the HTTP
 * cache, which inflates the gzipped 9.6 MB on each visit (about 70 ms more than Cache Storage).
 * Collected whole (see downloaded), then compiled: streamed, its bytes were decoded on this
 * thread while it compiled pyodide.asm.mjs (two runs of 21 interleaved loads: ready 28 and 33 ms
 * sooner cold, 13 ms warm). V8 decodes a whole module off this thread.
 */
function wasmCompiler(kept, url) {
  const state = {};
  state.bytes = downloaded(state, kept, url, "application/wasm", wasmModule);
  state.module = state.bytes.then(async (data) => {
    const module = await WebAssembly.compile(data); // off this thread
    const slots = sectionSlots(module) ?? tableSlots(data);
    if (slots) slotsOf.set(module, slots);
    spareOf.set(module, data); // WebAssembly.compile copied the bytes when it was called
    return module;
  });
  state.module.catch((error) => {
    state.failed = String(error?.message ?? error); // the loader then compiles it its own way (see withCompiledWasm)
  });
  return state;
}

/**
 * Run ``load`` (Pyodide's loader) with the wasm compiled here. The loader fetches the wasm itself
 * and hands the response to `WebAssembly.instantiateStreaming`; meanwhile its fetch answers an
 * empty response and the instantiation uses ``wasm.module``, or compiles the loader's way if
 * that failed. These globals are this worker's own and are put back when the loader is done.
 */
async function withCompiledWasm(url, wasm, load) {
  const { fetch: nativeFetch } = self;
  const { instantiateStreaming } = WebAssembly;
  self.fetch = (input, init) => (String(input) === url ? Promise.resolve(new Response(null)) : fetchHere(input, init));
  WebAssembly.instantiateStreaming = async (source, imports) => {
    let module;
    try {
      module = await wasm.module;
    } catch {
      return instantiateStreaming(fetchHere(url), imports);
    }
    return { module, instance: await WebAssembly.instantiate(module, imports) };
  };
  try {
    return await load();
  } finally {
    self.fetch = nativeFetch;
    WebAssembly.instantiateStreaming = instantiateStreaming;
  }
}

async function start(config) {
  const t0 = performance.now();
  // Milliseconds from t0 at which each step ended; `origin` + `start` put them on the page's clock.
  const marks = {};
  const mark = (name) => {
    marks[name] = performance.now() - t0;
  };
  // A few steps, not a moving bar: each one repaints the page, which shares the processors. The
  // first two end in either order; the step posted is how many have ended.
  const steps = new Set(["wasm_compiled", "snapshot_bytes", "runtime"]);
  const ended = new Set();
  const progress = (name) => {
    if (!steps.has(name) || ended.has(name)) return;
    ended.add(name);
    self.postMessage({ progress: { step: ended.size, steps: steps.size } });
  };
  // Every download and the runtime's compile start now, side by side, the wasm first. The kept
  // files are looked for first only where an earlier visit kept them. On a first visit their store
  // is opened only once the engine runs: asking Cache Storage first held both downloads back by 70
  // to 150 ms, and opening it alone took about 10 ms of this thread, the one the whole start waits for.
  const kept = keptFiles(config.keptIn);
  const lookup = config.cached ? kept : null;
  const withSnapshot = Boolean(config.snapshotURL && config.snapshotSize && config.staticSize);
  // The loader fetches the full wasm under this name; withCompiledWasm gives it ours instead.
  const fullURL = `${config.indexURL}pyodide.asm.wasm`;
  const leanURL = withSnapshot && config.leanWasmURL ? config.leanWasmURL : null;
  const wasmURL = leanURL ?? fullURL;
  const wasm = wasmCompiler(lookup, wasmURL);
  let fullWasm = leanURL ? null : wasm;
  const full = () => (fullWasm ??= wasmCompiler(lookup, fullURL));
  const snapshot = withSnapshot ? snapshotReader(lookup, config.snapshotURL, config.snapshotSize, config.staticSize) : null;
  wasm.responded.then(() => mark("wasm_response"), () => {});
  wasm.bytes.then(() => mark("wasm_bytes"), () => {});
  wasm.module.then(() => (mark("wasm_compiled"), progress("wasm_compiled")), () => {});
  snapshot?.responded.then(() => mark("snapshot_response"), () => {});
  snapshot?.complete.then(() => (mark("snapshot_bytes"), progress("snapshot_bytes")));
  // The snapshot holds the engine: its archive is only fetched to boot without one.
  let archive = snapshot ? null : fetchBytes(config.archiveURL);
  archive?.catch(() => {});
  // The loader asks for pyodide.asm.mjs only after its own import and settings: ask sooner. When
  // the wasm was kept by an earlier visit, once its bytes are in: that copy is read on this thread,
  // and the module's compile and first run, also here, held the read back while the wasm's
  // compile (off this thread) waited for it. From Cache Storage, ready came 15 ms sooner (90%
  // interval 6 to 25; 36 interleaved warm loads); asking for it as soon as Cache Storage answered
  // gained nothing. From the private file system, asking for it at once put the wasm's bytes 50 ms
  // later and ready 44 ms later (paired medians of 15 interleaved warm loads).
  const asmAfter = config.cached
    ? wasm.responded.then(({ cached }) => (cached ? wasm.bytes : null)).then(() => {}, () => {})
    : Promise.resolve();
  const asm = asmAfter.then(() => import(`${config.indexURL}pyodide.asm.mjs`));
  asm.then(() => mark("asm"), () => {});
  const { loadPyodide } = await import(`${config.indexURL}pyodide.mjs`);
  mark("loader");
  let restoring = null; // the snapshot being restored: the runtime must not start before its bytes are in
  let writtenImage = null; // for tests (config.digestImage): the memory as the snapshot's image left it
  let deadStackSeen = null; // for tests: the stack, zeros in writtenImage
  const createPyodideModule = async (settings) => {
    mark("module");
    const instantiate = settings.instantiateWasm;
    // An error in the runtime's first steps (the lean runtime lacking a function they call) is
    // thrown in callbacks (the one below, the loader's), where the loader would wait for ever: it
    // fails the runtime's creation instead.
    let failed;
    const failure = new Promise((_, reject) => {
      failed = reject;
    });
    const uncaught = (event) => {
      event.preventDefault();
      failed(event.error ?? event.reason ?? new Error(event.message));
    };
    self.addEventListener("error", uncaught);
    self.addEventListener("unhandledrejection", uncaught);
    // The snapshot's image goes straight into the runtime's memory (see snapshotReader).
    const snapshotBeingRestored = restoring;
    if (snapshotBeingRestored) {
      settings.writeSnapshotImage = (view) => {
        // No wasm frame is live while the image is written, nor when Pyodide made the snapshot: the
        // whole stack is dead, and what the runtime's start left there is never read.
        const [low, high] = [settings.___stack_low, settings.___stack_high];
        const deadStack = Number.isInteger(low) && Number.isInteger(high) ? [low, high] : null;
        snapshotBeingRestored.writeImage(settings.HEAP8, view, settings._sbrk(0), deadStack);
        if (config.digestImage) {
          // The stack holds what the runtime's own start left there: not part of the image.
          writtenImage = settings.HEAP8.slice(0, config.snapshotSize - view.byteOffset);
          if (deadStack) writtenImage.fill(0, ...deadStack);
          deadStackSeen = deadStack;
        }
      };
    }
    // The engine loads no package, so Pyodide's package index is not built: that step lists the
    // site-packages folder and registers import hooks, about 9 ms of Python on the worker's path
    // to ready (medians of 17 cold loads, an instrumented build).
    if (settings.API) settings.API.lockFilePromise = undefined;
    settings.instantiateWasm = (imports, done) =>
      instantiate(imports, (instance, module) => {
        mark("wasm");
        // The snapshot's static data comes from the fresh instance, before its code changes it.
        // Kept aside, it lets the runtime's creation go on while the snapshot still downloads.
        try {
          restoring?.keepStatic(instance, spareOf.get(module));
          spareOf.delete(module);
          settings.tableSlots = slotsOf.get(module) ?? null;
          done(instance, module);
        } catch (error) {
          failed(error);
        }
      });
    let module;
    try {
      module = await Promise.race([(await asm).default(settings), failure]);
    } finally {
      self.removeEventListener("error", uncaught);
      self.removeEventListener("unhandledrejection", uncaught);
    }
    mark("created");
    await restoring?.writeHeader();
    return module;
  };
  const options = { indexURL: config.indexURL, createPyodideModule, stdout: () => {}, stderr: () => {} };
  // The engine loads no package: given the lock file's header and no package, loadPyodide does not
  // fetch the 119 KB pyodide-lock.json (nor builds the package index, see createPyodideModule),
  // and any package URL would still be resolved next to the runtime, never on Pyodide's CDN.
  if (config.lockInfo) {
    options.lockFileContents = { info: config.lockInfo, packages: {} };
    options.packageBaseUrl = config.indexURL;
  }
  const restore = async (compiled) => {
    restoring = snapshot;
    try {
      return await withCompiledWasm(fullURL, compiled, () => loadPyodide({ ...options, _loadSnapshot: snapshot.bytes, stdLibURL: EMPTY_ZIP }));
    } finally {
      restoring = null;
    }
  };
  let pyodide = null;
  let fallback = config.fallback ?? null;
  if (snapshot) {
    try {
      // A lean wasm that could not be fetched or compiled is replaced by the full one (see withCompiledWasm).
      pyodide = { runtime: await restore(wasm), fromSnapshot: true, lean: Boolean(leanURL) && !wasm.failed };
    } catch (error) {
      console.warn(`snapshot not restored on the ${leanURL ? "lean" : "full"} runtime:`, error);
      if (leanURL) fallback = `start: ${firstLine(error)}`;
    }
    if (!pyodide && leanURL) {
      try {
        pyodide = { runtime: await restore(full()), fromSnapshot: true, lean: false };
      } catch (error) {
        console.warn("snapshot not restored on the full runtime:", error);
      }
    }
  }
  // A missing or stale snapshot costs speed, never the engine: boot Python the usual way.
  pyodide ??= { runtime: await withCompiledWasm(fullURL, full(), () => loadPyodide(options)), fromSnapshot: false, lean: false };
  const t1 = performance.now();
  mark("runtime");
  progress("runtime");
  if (!pyodide.fromSnapshot) {
    archive ??= fetchBytes(config.archiveURL);
    pyodide.runtime.unpackArchive(await archive, "zip", { extractDir: ENGINE_DIR });
    pyodide.runtime.runPython(`import sys\nsys.path.insert(0, "${ENGINE_DIR}")`);
  }
  // An import, not Python source: restored from the snapshot, nothing at start-up runs CPython's
  // compiler (about 500 wasm functions V8 would compile on their first call). The function's
  // proxy is lent by the module's, so both are kept for the worker's life: a module proxy
  // collected or destroyed takes the function's with it.
  const simulator = pyodide.runtime.pyimport("simulator");
  const handleJson = simulator.handle_json;
  const t2 = performance.now();
  mark("engine");
  // A copy that failed (a cut or stale file) is dropped: the next visit fetches it again.
  // Kept in a later task: the snapshot's copy joins 11 MB, which the page need not wait for.
  const files = {};
  for (const [url, compiler] of [[wasmURL, wasm], [fullURL, fullWasm]]) {
    if (compiler && !compiler.failed && (compiler === wasm || !pyodide.lean)) files[url] = () => compiler.toKeep();
  }
  // The lean wasm stays kept when the full runtime took over for a request (see onmessage).
  if (config.keepLean) files[config.keepLean] = () => null;
  if (pyodide.fromSnapshot) files[config.snapshotURL] = () => snapshot.toKeep();
  // A full or refused store only costs speed on the next visit.
  setTimeout(() => kept.keep(files).catch(() => {}), 0);
  return {
    handleJson,
    simulator,
    config,
    lean: pyodide.lean,
    info: {
      snapshot: pyodide.fromSnapshot,
      runtime: pyodide.lean ? "lean" : "full",
      fallback,
      sources: {
        wasm: wasm.failed ? `loader (${wasm.failed})` : wasm.cached ? kept.store : "network",
        snapshot: pyodide.fromSnapshot ? (snapshot.cached ? kept.store : "network") : null,
      },
      origin: performance.timeOrigin,
      start: t0,
      marks,
      timings: { runtime_ms: t1 - t0, engine_ms: t2 - t1, total_ms: t2 - t0 },
      imageDigest: writtenImage ? await sha256(writtenImage) : undefined,
      deadStack: writtenImage ? deadStackSeen : undefined,
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
    const text = JSON.stringify({ ...request, op });
    const current = engine;
    const running = await current;
    let answer;
    try {
      answer = running.handleJson(text);
    } catch (error) {
      // handle_json answers every request, bad ones included: on the lean runtime an error here
      // is a function it lacks, which leaves the runtime unusable. The full one takes over.
      if (!running.lean) throw error;
      if (engine === current) {
        console.warn("the lean runtime could not answer; the full runtime takes over:", error);
        const { config } = running;
        const reason = `request: ${firstLine(error)}`;
        engine = start({ ...config, leanWasmURL: null, fallback: reason, keepLean: config.leanWasmURL });
      }
      answer = (await engine).handleJson(text);
    }
    self.postMessage({ id, result: JSON.parse(answer) });
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
