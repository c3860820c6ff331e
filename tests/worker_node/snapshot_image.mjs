// Runs the engine worker's snapshot code (site/assets/js/engine-worker.js) in Node, outside any
// worker: the script is evaluated in a context of its own with the little of `self` it reads at
// load. Given a published (sparse) snapshot and a runtime's memory as its start left it, it
// writes the snapshot's image into that memory the way the worker does and prints the memory.
// usage: node snapshot_image.mjs WORKER_JS SPARSE_FILE CASE_JSON OUT_FILE
//   CASE_JSON: {size, staticSize, brk, memory: FILE (the memory before the write),
//               fresh: FILE (its static data at instantiation)}
import fs from "node:fs";
import vm from "node:vm";

const [workerPath, sparsePath, casePath, outPath] = process.argv.slice(2);
const testCase = JSON.parse(fs.readFileSync(casePath, "utf-8"));
const context = vm.createContext({
  self: { fetch: () => Promise.reject(new Error("no network here")), location: { hash: "" } },
  Response,
  Blob,
  DataView,
  Uint8Array,
  Promise,
  Error,
  Math,
  String,
  Object,
});
vm.runInContext(fs.readFileSync(workerPath, "utf-8"), context, { filename: workerPath });

const published = new Uint8Array(fs.readFileSync(sparsePath));
// The worker reads its kept copy first when the page noted one: the file comes from there, whole
// (keptFiles' private file system answers with the bytes; Cache Storage with a Response).
const kept = { store: "disk", read: async () => ({ bytes: published }) };
const reader = context.snapshotReader(kept, "snapshot.bin", testCase.size, testCase.staticSize);
const memory = new Uint8Array(fs.readFileSync(testCase.memory));
// What the worker keeps at instantiation: the fresh memory's static data (the case's, before the
// start wrote anything, is given as `fresh`).
const fresh = new Uint8Array(fs.readFileSync(testCase.fresh));
reader.keepStatic({ exports: { memory: { buffer: fresh.buffer } } });
await reader.writeHeader();
const header = new DataView(reader.bytes.buffer).getUint32(4, true);
reader.writeImage(memory, reader.bytes.subarray(header), testCase.brk);
fs.writeFileSync(outPath, Buffer.concat([Buffer.from(reader.bytes.subarray(0, header)), Buffer.from(memory)]));
