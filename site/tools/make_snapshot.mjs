// Make a Pyodide memory snapshot with the engine already imported, at site build time.
// usage: node make_snapshot.mjs PYODIDE_DIR ENGINE_ZIP OUT_FILE
// The same pinned Pyodide is served to the browser, which restores this snapshot in its
// worker instead of booting Python and importing the engine again.
import fs from "node:fs";
import path from "node:path";

const [pyodideDir, archivePath, outFile] = process.argv.slice(2);
if (!outFile) {
  console.error("usage: node make_snapshot.mjs PYODIDE_DIR ENGINE_ZIP OUT_FILE");
  process.exit(2);
}
const { loadPyodide } = await import(path.resolve(pyodideDir, "pyodide.mjs"));
const pyodide = await loadPyodide({
  indexURL: path.resolve(pyodideDir) + "/",
  _makeSnapshot: true,
  stdout: (line) => console.error(line),
  stderr: (line) => console.error(line),
});
pyodide.unpackArchive(new Uint8Array(fs.readFileSync(archivePath)), "zip", { extractDir: "/home/pyodide/engine" });
// Warm every path a page uses, so the modules they import live in the snapshot's memory.
pyodide.runPython(`
import sys
sys.path.insert(0, "/home/pyodide/engine")
import simulator
from simulator import compare, contract, options, portfolio, pricing, profile, settle, tariff
for version in simulator.available_versions():
    simulator.load_tariff(version)
_profile = {"turnover": 500000, "sector": "it", "top_buyers": [{"name": "A", "share": 0.3}]}
_compare = simulator.handle({"op": "compare", "profile": _profile})
assert _compare["ok"], _compare
_terms = _compare["result"]["formulas"][0]["terms"]
_invoice = {"id": "1", "buyer": "A", "amount": "1000", "invoice_date": "2026-01-01", "due_date": "2026-02-01",
            "event": {"type": "insolvency", "date": "2026-03-01"}, "declared_on": "2026-03-02"}
for request in (
    {"op": "portfolio", "profile": _profile, "cash_cushion": 10000},
    {"op": "settle", "terms": _terms, "invoices": [_invoice]},
    {"op": "quote", "profile": _profile},
):
    assert simulator.handle(request)["ok"]
simulator.handle_json("{}")
del _profile, _compare, _terms, _invoice, request
`);
zeroFreeMemory(pyodide);
const snapshot = pyodide.makeMemorySnapshot();
fs.writeFileSync(outFile, snapshot);
console.error(`snapshot: ${snapshot.length} bytes`);

/**
 * Zero the heap's free chunks: they hold what freed objects left, which the snapshot would
 * carry for nothing (2.6 MB here, about 0.9 MB of its gzipped size). Each free chunk is taken
 * with calloc, which zeroes it, then given back; a request that would grow the heap stops that
 * size, so the memory (and the snapshot's size) stays what it was.
 */
function zeroFreeMemory(pyodide) {
  const module = pyodide._module;
  pyodide.runPython("import gc; gc.collect()");
  const top = module._sbrk(0);
  const memorySize = module.HEAP8.length;
  const taken = [];
  for (const size of [1 << 20, 1 << 16, 1 << 12, 1 << 9, 128, 32, 8]) {
    for (;;) {
      const before = module._sbrk(0);
      const pointer = module._calloc(size, 1);
      if (!pointer) break;
      if (module._sbrk(0) !== before || pointer + size > top) {
        module._free(pointer);
        break;
      }
      taken.push(pointer);
    }
  }
  for (const pointer of taken.reverse()) module._free(pointer);
  if (module.HEAP8.length !== memorySize) throw new Error("the memory grew while the heap's free chunks were zeroed");
}
