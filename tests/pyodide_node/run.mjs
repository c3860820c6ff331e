#!/usr/bin/env node
// Run the `simulator` package under Pyodide in Node, offline, for the
// cross-runtime test (mode `run`) and the benchmark (mode `bench`).
//
//   node tests/pyodide_node/run.mjs run --requests FILE [common options]
//     FILE holds a JSON array; each item is a request text (a JSON string, passed
//     unchanged to simulator.handle_json) or a request object (serialised in
//     Python with json.dumps(item, ensure_ascii=False) first). Prints a JSON
//     array, one item per request: the response text, or {"exception": traceback}
//     when handle_json raised (a contract breach), or {"fatal": message} when the
//     Pyodide runtime itself died on that request (it is then restarted for the
//     next one). The output is ASCII-only (\u escapes), so it round-trips exactly.
//
//   node tests/pyodide_node/run.mjs bench --request FILE [--iterations N] [--warmup W] [common options]
//     FILE holds one request object (or a JSON string holding its text). Calls
//     simulator.handle(request) W times untimed, then N times, each timed inside
//     Python with time.perf_counter_ns, so JS<->Python conversion is not counted.
//     Prints one JSON object: {"runtime": "pyodide", "pyodide", "python",
//     "iterations", "warmup", "times_ns": [...], "median_ns", "p95_ns",
//     "response": handle_json(request text)}.
//
//   Common options: --package-dir DIR (default <repo>/simulator),
//                   --pyodide-dir DIR (default <repo>/node_modules/pyodide),
//                   --snapshot FILE (restore this memory snapshot, made by
//                   site/tools/make_snapshot.mjs, with an empty standard library, as the
//                   site's worker does; the engine then comes from the snapshot, and no
//                   package file is written).
//
// Versions and start-up time go to stderr; so does anything Python prints.
// Exit status: 0 success, 1 failure (message on stderr), 2 bad usage.

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, "..", "..");
// Where the package goes in Pyodide's file system; its parent goes on sys.path.
const PKG_ROOT = "/home/pyodide/pkgs";
const PKG_NAME = "simulator";

class UsageError extends Error {}

// Python side of the driver. Request texts stay in Python from file to
// handle_json, so no JS string conversion can alter them.
const DRIVER = String.raw`
import json
import sys
import time

# Only modules a restored snapshot already holds are imported up front: with --snapshot the
# standard library zip is empty, as in the browser, so any other import would fail there.
_requests = []


def python_version():
    return "%d.%d.%d" % sys.version_info[:3]


def load_requests(path):
    global _requests
    with open(path, encoding="utf-8") as f:
        items = json.load(f)
    if not isinstance(items, list):
        raise TypeError("the requests file must hold a JSON array")
    _requests = [i if isinstance(i, str) else json.dumps(i, ensure_ascii=False) for i in items]
    return len(_requests)


def run_one(index):
    import simulator

    try:
        response = simulator.handle_json(_requests[index])
    except Exception:
        import traceback

        return json.dumps({"exception": traceback.format_exc()})
    if not isinstance(response, str):
        return json.dumps({"exception": f"handle_json returned {type(response).__name__}, not str"})
    return json.dumps(response)


def p95(values):
    ordered = sorted(values)
    return ordered[max(0, -(-95 * len(ordered) // 100) - 1)]


def bench(path, iterations, warmup, pyodide_version):
    import statistics

    import simulator

    with open(path, encoding="utf-8") as f:
        raw = f.read()
    loaded = json.loads(raw)
    text = loaded if isinstance(loaded, str) else raw
    request = json.loads(text)
    response = simulator.handle_json(text)
    for _ in range(warmup):
        simulator.handle(request)
    clock = time.perf_counter_ns
    times = []
    for _ in range(iterations):
        start = clock()
        simulator.handle(request)
        times.append(clock() - start)
    return json.dumps({
        "runtime": "pyodide",
        "pyodide": pyodide_version,
        "python": python_version(),
        "iterations": iterations,
        "warmup": warmup,
        "times_ns": times,
        "median_ns": statistics.median(times) if times else None,
        "p95_ns": p95(times) if times else None,
        "response": response,
    })
`;

function parseCli(argv) {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        requests: { type: "string" },
        request: { type: "string" },
        iterations: { type: "string", default: "200" },
        warmup: { type: "string", default: "20" },
        "package-dir": { type: "string", default: path.join(REPO, PKG_NAME) },
        "pyodide-dir": { type: "string", default: path.join(REPO, "node_modules", "pyodide") },
        snapshot: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (err) {
    throw new UsageError(err.message);
  }
  const { values, positionals } = parsed;
  if (values.help) return { mode: "help" };
  const mode = positionals[0];
  if (positionals.length !== 1 || !["run", "bench"].includes(mode)) {
    throw new UsageError("expected exactly one mode: run or bench");
  }
  const opts = {
    mode,
    packageDir: path.resolve(values["package-dir"]),
    pyodideDir: path.resolve(values["pyodide-dir"]),
    snapshot: values.snapshot ? path.resolve(values.snapshot) : null,
  };
  if (mode === "run") {
    if (!values.requests) throw new UsageError("run needs --requests FILE");
    opts.requests = path.resolve(values.requests);
  } else {
    if (!values.request) throw new UsageError("bench needs --request FILE");
    opts.request = path.resolve(values.request);
    opts.iterations = wholeNumber(values.iterations, "--iterations");
    opts.warmup = wholeNumber(values.warmup, "--warmup");
  }
  return opts;
}

function wholeNumber(text, name) {
  if (!/^\d+$/.test(text)) throw new UsageError(`${name} must be a whole number, got ${JSON.stringify(text)}`);
  return Number(text);
}

function requireFile(file, what) {
  if (!fs.existsSync(file)) throw new Error(`${what} not found: ${file}`);
}

// Pyodide must come from node_modules, never from a CDN: fail loudly on any
// network fetch instead of silently downloading (there is no network in CI).
function forbidNetwork() {
  const original = globalThis.fetch;
  globalThis.fetch = (resource, ...rest) => {
    const url = String(resource instanceof Request ? resource.url : resource);
    if (/^https?:/i.test(url)) {
      return Promise.reject(new Error(`network fetch refused (Pyodide must load offline): ${url}`));
    }
    return original(resource, ...rest);
  };
}

// Files of the package, relative paths, without bytecode caches.
function packageFiles(dir, prefix = "") {
  const files = [];
  for (const entry of fs.readdirSync(path.join(dir, prefix), { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    const full = path.join(dir, rel);
    const stat = fs.statSync(full); // follows symlinks, like Python's import would
    if (stat.isDirectory()) {
      if (entry.name !== "__pycache__") files.push(...packageFiles(dir, rel));
    } else if (stat.isFile() && !entry.name.endsWith(".pyc")) {
      files.push(rel);
    }
  }
  return files.sort();
}

async function startPyodide(opts) {
  const entry = path.join(opts.pyodideDir, "pyodide.mjs");
  requireFile(entry, "Pyodide (run `npm ci`)");
  const started = performance.now();
  const { loadPyodide } = await import(pathToFileURL(entry).href);
  // indexURL must be a local directory ending in a separator; Python output is
  // sent to stderr so that only the driver's JSON reaches stdout.
  const toStderr = (line) => process.stderr.write(`${line}\n`);
  const settings = { indexURL: opts.pyodideDir + path.sep, stdout: toStderr, stderr: toStderr };
  if (opts.snapshot) {
    // As the site's worker does: restore the build's snapshot and give Pyodide an empty
    // standard library, so an import the snapshot does not hold fails here too.
    requireFile(opts.snapshot, "snapshot");
    settings._loadSnapshot = new Uint8Array(fs.readFileSync(opts.snapshot));
    settings.stdLibURL = emptyZip();
  }
  const pyodide = await loadPyodide(settings);
  const loadMs = performance.now() - started;

  // A restored snapshot holds the engine imported, its tariffs read: as in the site's worker, no
  // package file is written, so a request that would read one fails here too.
  const files = opts.snapshot ? [] : packageFiles(opts.packageDir);
  const target = `${PKG_ROOT}/${PKG_NAME}`;
  for (const rel of files) {
    const dest = `${target}/${rel}`;
    pyodide.FS.mkdirTree(dest.slice(0, dest.lastIndexOf("/")));
    pyodide.FS.writeFile(dest, fs.readFileSync(path.join(opts.packageDir, rel)));
  }
  const ns = pyodide.globals.get("dict")();
  pyodide.runPython(`import sys\nsys.path.insert(0, ${JSON.stringify(PKG_ROOT)})`);
  pyodide.runPython(DRIVER, { globals: ns });
  const pythonVersion = ns.get("python_version")();
  process.stderr.write(
    `run.mjs: pyodide ${pyodide.version} (Python ${pythonVersion}) started in ${loadMs.toFixed(0)} ms ` +
      `from ${opts.pyodideDir}; ` +
      (opts.snapshot ? `engine from ${opts.snapshot}\n` : `${files.length} package files from ${opts.packageDir}\n`),
  );
  return { pyodide, ns };
}

// A zip with no file (its end record only), written once to the system's temporary directory.
function emptyZip() {
  const file = path.join(os.tmpdir(), "assurcredit-empty-stdlib.zip");
  fs.writeFileSync(file, Buffer.from("UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA==", "base64"));
  return file;
}

function copyIntoFs(pyodide, file) {
  const dest = `/tmp/${path.basename(file)}`;
  pyodide.FS.writeFile(dest, fs.readFileSync(file));
  return dest;
}

async function runMode(opts) {
  requireFile(opts.requests, "requests file");
  const results = [];
  let total = null;
  // A fatal error (e.g. a JS stack overflow in wasm) kills the interpreter:
  // record it for that request and start a fresh one for the rest.
  while (total === null || results.length < total) {
    const { pyodide, ns } = await startPyodide(opts);
    const count = ns.get("load_requests")(copyIntoFs(pyodide, opts.requests));
    total ??= count;
    const runOne = ns.get("run_one");
    try {
      while (results.length < total) {
        results.push(runOne(results.length));
      }
    } catch (err) {
      if (!err?.pyodide_fatal_error) throw err;
      const message = `Pyodide fatal error on request #${results.length}: ${err}`;
      process.stderr.write(`run.mjs: ${message}; restarting Pyodide\n`);
      results.push(JSON.stringify({ fatal: message }));
    }
  }
  // Each item is already JSON text (ASCII, from Python's json.dumps).
  return `[${results.join(",")}]`;
}

async function benchMode(opts) {
  requireFile(opts.request, "request file");
  const { pyodide, ns } = await startPyodide(opts);
  return ns.get("bench")(copyIntoFs(pyodide, opts.request), opts.iterations, opts.warmup, pyodide.version);
}

async function main() {
  const opts = parseCli(process.argv.slice(2));
  if (opts.mode === "help") {
    process.stdout.write("usage: run.mjs run --requests FILE | bench --request FILE [--iterations N] [--warmup W]\n");
    return 0;
  }
  requireFile(path.join(opts.packageDir, "__init__.py"), "package __init__.py (--package-dir)");
  forbidNetwork();
  const output = opts.mode === "run" ? await runMode(opts) : await benchMode(opts);
  // Exit only once stdout is flushed: a pipe may take the large output in chunks.
  await new Promise((resolve, reject) => process.stdout.write(`${output}\n`, (err) => (err ? reject(err) : resolve())));
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    if (err instanceof UsageError) {
      process.stderr.write(`run.mjs: usage error: ${err.message}\n`);
      process.exit(2);
    }
    // A PythonError's message carries the Python traceback.
    process.stderr.write(`run.mjs: error: ${err?.message ?? err}\n`);
    process.exit(1);
  },
);
