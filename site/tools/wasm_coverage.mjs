// Restore the engine's snapshot as the site's worker does and answer requests, at build time.
// usage: node --trace-wasm-compilation-times wasm_coverage.mjs RUNTIME_DIR SNAPSHOT REQUESTS OUT
//   RUNTIME_DIR  Pyodide's files as the site serves them (pyodide.asm.wasm may be the lean one)
//   SNAPSHOT     the memory snapshot made by make_snapshot.mjs
//   REQUESTS     a JSON array of request texts
//   OUT          written with a JSON array: per request, the response text, or {"fatal": message}
//                when the runtime died on it (it is then restored again for the next request)
// With that V8 flag, Node prints a line for each wasm function it compiles; V8 compiles one only
// on its first call, so the build reads from them which functions the requests reach
// (site/hooks/engine_assets.py). The calls are the worker's: pyimport, then handle_json on a JS
// string; Python's standard library is an empty zip, as in the browser.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";

const [runtimeDir, snapshotFile, requestsFile, outFile] = process.argv.slice(2);
if (!outFile) {
  console.error("usage: node --trace-wasm-compilation-times wasm_coverage.mjs RUNTIME_DIR SNAPSHOT REQUESTS OUT");
  process.exit(2);
}
const indexURL = path.resolve(runtimeDir) + path.sep;
const { loadPyodide } = await import(pathToFileURL(path.join(indexURL, "pyodide.mjs")).href);
const emptyZip = path.join(os.tmpdir(), "assurcredit-coverage-empty.zip");
fs.writeFileSync(emptyZip, Buffer.from("UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA==", "base64"));
const lock = JSON.parse(fs.readFileSync(path.join(indexURL, "pyodide-lock.json"), "utf8"));
const snapshot = new Uint8Array(fs.readFileSync(snapshotFile));

async function restore() {
  const pyodide = await loadPyodide({
    indexURL,
    _loadSnapshot: snapshot,
    stdLibURL: emptyZip,
    lockFileContents: { info: lock.info, packages: {} },
    packageBaseUrl: indexURL,
    stdout: () => {},
    stderr: () => {},
  });
  collect = () => pyodide.pyimport("gc").collect();
  return pyodide.pyimport("simulator").handle_json;
}

// A full collection at the end, as the collector makes on its own in a long visit.
let collect = null;
const texts = JSON.parse(fs.readFileSync(requestsFile, "utf8"));
const answers = [];
let handleJson = await restore();
for (const text of texts) {
  try {
    handleJson ??= await restore();
    answers.push(handleJson(text));
  } catch (error) {
    answers.push({ fatal: String(error?.message ?? error).split("\n", 1)[0] });
    handleJson = null;
  }
}
collect?.();
fs.writeFileSync(outFile, JSON.stringify(answers));
