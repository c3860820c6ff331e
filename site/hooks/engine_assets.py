"""Build hook for the in-browser engine.

- the simulator page gets the default simulation computed by the engine on
  CPython and rendered to HTML by the browser's own renderer (run in Node), so
  numbers show before Pyodide is ready;
- the build output gets the pinned Pyodide runtime, a Pyodide memory snapshot
  with the engine already imported (made in Node, cached by content hash,
  published without its zero blocks), the ``simulator`` package as a zip (for
  a worker that cannot use the snapshot), gzip siblings of the large files and
  zstd siblings of every file in the engine's two folders.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import io
import json
import random
import re
import shutil
import struct
import subprocess
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import zstandard

import simulator

ROOT = Path(__file__).resolve().parents[2]
PYODIDE_DIR = ROOT / "node_modules" / "pyodide"
CACHE_DIR = ROOT / "build" / "cache"
TOOLS = ROOT / "site" / "tools"
WORKER_SOURCE = ROOT / "site" / "assets" / "js" / "engine-worker.js"
PYODIDE_FILES = (
    "pyodide.mjs",
    "pyodide.asm.mjs",
    "pyodide.asm.wasm",
    "python_stdlib.zip",
    "pyodide-lock.json",
)
# Edits to the pinned runtime: (file, the text replaced, its replacement). Each text must occur
# exactly once, or the build stops: a new Pyodide pin means reviewing them.
#
# Emscripten's dynamic linker, once the main wasm is instantiated, gives each of its 7,415 exported
# functions a table slot and a GOT entry, in case a side module (a compiled package) wants them.
# The engine loads no side module, and a side module's imports are resolved when it loads anyway,
# by the same linker: `reportUndefinedSymbols` fills each entry it asked for through `addFunction`,
# which reuses a function's existing slot (tests/test_cross_runtime.py looks symbols up at run
# time). So only the entries already asked for (the main module's own GOT imports) are filled at
# start-up: the worker's step from instantiation to a created runtime went from about 115 to 50 ms
# (medians of 11 interleaved loads, cold and warm). Later slots then get other numbers; the
# snapshot, which keeps such numbers in memory, is made by this same edited runtime (runtime_dir).
#
# The linker then gives each JavaScript function whose address the runtime takes (259 of them) a
# table slot through `addFunction`, which wraps each in a wasm module of its own: one compile and
# one instantiation per function. The second edit takes the same slots in the same order, but wraps
# all the functions in one module that imports them and exports them again: the step from
# instantiation to a created runtime went from about 80 to 50 ms warm and 82 to 61 ms cold (medians
# of 11 interleaved loads; tests/test_cross_runtime.py checks the slots). The 259 functions had each
# grown the table by one slot, then been refused by it with a TypeError (an exception, its stack
# captured) before being wrapped: that loop took 10 to 28 ms of the worker's path (an instrumented
# build, warm loads). The edit now grows the table once, to the same slots in the same order, and
# wraps every function whose name is not a wasm function's index without asking the table: the
# worker's start to ready went 20 ms shorter (90% interval 1 to 46; 15 interleaved warm loads).
#
# To find a function's existing slot, `addFunction` reads every slot of the table once (18,733, of
# which 8,732 are filled, each read making V8 create a function object: 9 ms of the worker's path).
# Given `Module.tableSlots` (function index to slot, read by the worker from the wasm's element
# segment), the second edit looks the slot up instead, by the index V8 gives an exported function
# as its name, and checks that the table holds the function there; without it, or should the check
# fail, the table is read as before. The only other such lookup before the engine is ready is for
# CPython's call trampoline, a function of a module made at start-up, which no slot can hold yet:
# the fifth edit gives it an empty slot directly, as `addFunction` would after its lookup.
REPORT_UNDEFINED = (
    "var reportUndefinedSymbols=()=>{for(var[symName,entry]of Object.entries(GOT)){if(entry.value==-1){"
    "var value=resolveGlobalSymbol(symName,true).sym;if(!value&&!entry.required){entry.value=0;continue}"
    "else if(!value){throw new Error(`Dynamic linking error: undefined symbol '${symName}'`)}"
    'if(typeof value=="function"){entry.value=addFunction(value,value.sig)}'
    'else if(typeof value=="number"){entry.value=value}else if(typeof value.value=="number"){entry.value=value}'
    "else{throw new Error(`bad export type for '${symName}': ${typeof value} (${value})`)}}}};"
)
ADD_FUNCTIONS_AT_ONCE = (
    # addFunction's steps for each function, in order, with the wrapping left for the end; the
    # existing slot from Module.tableSlots when given (a JavaScript function has no index for a
    # name, and no slot yet), else from the whole table
    "var addFunctionsAtOnce=pending=>{var wrapped=[],fresh=[],slots=Module.tableSlots,taken=new Map;"
    "var slotOf=func=>{if(taken.has(func))return taken.get(func);if(!slots)return getFunctionAddress(func);"
    "var known=slots.get(Number(func.name));if(known===undefined)return 0;"
    "return getWasmTableEntry(known)===func?known:getFunctionAddress(func)};"
    # new slots follow the table's end, as getEmptyTableSlot gives them one by one when no slot was
    # freed: the table grows once
    "var base=freeTableIndexes.length?-1:wasmTable.length;"
    "for(var[entry,func]of pending){var slot=slotOf(func);"
    "if(!slot){slot=base<0?getEmptyTableSlot():base+fresh.length;fresh.push([slot,func]);"
    "functionsInTableMap?.set(func,slot)}taken.set(func,slot);entry.value=slot}"
    "if(base>=0&&fresh.length)wasmTable.grow(fresh.length);"
    # a wasm function is named by its index; any other function would make the table throw
    "for(var[slot,func]of fresh){if(!/^[0-9]+$/.test(func.name)){wrapped.push([slot,func]);continue}"
    "try{setWasmTableEntry(slot,func)}catch(err){if(!(err instanceof TypeError))throw err;wrapped.push([slot,func])}}"
    "if(!wrapped.length)return;"
    # one module: a type per signature, function i imported as e.i and exported as i
    "var leb=(out,n)=>{do{var low=n&127;n>>>=7;out.push(n?low|128:low)}while(n)};"
    "var put=(out,items)=>{for(var item of items)out.push(item)};"
    "var name=(out,i)=>{var text=String(i);leb(out,text.length);for(var k=0;k<text.length;k++)out.push(text.charCodeAt(k))};"
    "var types=[],typeIndex=new Map,imports=[],exports=[],env={};"
    "wrapped.forEach(([slot,func],i)=>{var sig=func.sig;if(!typeIndex.has(sig)){typeIndex.set(sig,typeIndex.size);"
    'types.push(96);put(types,generateTypePack(sig.slice(1)));put(types,generateTypePack(sig[0]==="v"?"":sig[0]))}'
    "imports.push(1,101);name(imports,i);imports.push(0);leb(imports,typeIndex.get(sig));"
    "name(exports,i);exports.push(0);leb(exports,i);env[i]=func});"
    "var bytes=[0,97,115,109,1,0,0,0];"
    "var section=(id,count,body)=>{var head=[];leb(head,count);bytes.push(id);leb(bytes,head.length+body.length);"
    "put(bytes,head);put(bytes,body)};"
    "section(1,typeIndex.size,types);section(2,wrapped.length,imports);section(7,wrapped.length,exports);"
    "var instance=new WebAssembly.Instance(new WebAssembly.Module(Uint8Array.from(bytes)),{e:env});"
    "wrapped.forEach(([slot],i)=>setWasmTableEntry(slot,instance.exports[i]))};"
)
# Restored from a snapshot, `finalizeBootstrap` runs five lines of Python source to fetch objects the
# snapshot already holds (the `_pyodide_core` import, an empty dict, importlib, and the `__main__`
# and `builtins` namespaces). Compiling them is the only use of CPython's parser and compiler at
# start-up: about 520 wasm functions, each compiled by V8 on its first call, warm visits included
# (the code cache keeps only optimised code). In that case the third edit fetches the same objects
# through calls instead; a fresh boot (the snapshot's making) runs the lines as before.
FINALIZE_SOURCE = (
    'API.finalizeBootstrap=function(t,e){t&&Wr();let[r,n]=API.rawRun("import _pyodide_core");'
    "r&&API.fatal_loading_error(`Failed to import _pyodide_core\\n`,n),"
    'API.runPythonInternal_dict=API._pyodide._base.eval_code("{}"),'
    'API.importlib=API.runPythonInternal("import importlib; importlib");let o=API.importlib.import_module;'
    'API.sys=o("sys"),API.os=o("os");let i=API.runPythonInternal("import __main__; __main__.__dict__"),'
    's=API.runPythonInternal("import builtins; builtins.__dict__");'
)
FINALIZE_CALLS = (
    ("let[r,n]=API.rawRun(", 'let[r,n]=t?[0,""]:API.rawRun('),
    ("API.runPythonInternal_dict=", "API.runPythonInternal_dict=t?API._pyodide._base.builtins.dict():"),
    ("API.importlib=", 'API.importlib=t?API._pyodide._base.import_module("importlib"):'),
    ("let i=", 'let i=t?o("__main__").__dict__:'),
    ("s=API.runPythonInternal", 's=t?o("builtins").__dict__:API.runPythonInternal'),
)

# The fifth edit: CPython's call trampoline gets an empty slot without a lookup (see above the
# second one).
TRAMPOLINE_SLOT = (
    "return addFunction(trampolineInstance.exports.trampoline_call)}",
    "var trampoline=trampolineInstance.exports.trampoline_call,slot=getEmptyTableSlot();"
    "setWasmTableEntry(slot,trampoline);functionsInTableMap?.set(trampoline,slot);return slot}",
)

# `restoreSnapshot` copies the snapshot's whole memory image (31 MB) into the runtime's memory,
# which makes the system give the memory every one of its 7,680 pages, most of them to hold zeros.
# The fourth edit lets the runtime's settings take that copy over (`writeSnapshotImage`, given the
# image as Pyodide would copy it): the engine's worker writes only the snapshot's runs and copies,
# and zeros only the part the runtime's start can have written (see snapshotReader in the worker).
# Without the setting, as in our Node tools, the copy is made as before. In 21 interleaved cold
# loads the worker's step from the runtime created to ready went from 88 to 54 ms (medians; paired,
# 19 ms shorter, 90% interval 9 to 41), with the package index also left out (see the worker's
# createPyodideModule).
RESTORE_COPY = "return Module.HEAP8.set(t),l};"
RESTORE_HOOK = (
    RESTORE_COPY,
    "return Module.writeSnapshotImage?Module.writeSnapshotImage(t):Module.HEAP8.set(t),l};",
)


# The whole runtime (1.2 MB of JavaScript) is one function, `_createPyodideModule`, which V8 only
# pre-parses when the module is imported and compiles in full when it is called, on the worker's
# thread, once the loader asks for it. Wrapped in parentheses it is compiled with the import, while
# the wasm is still downloading. Measured with the lean runtime (below), whose compile no longer
# hides that step: the worker's start to ready went from 656 to 608 ms (one A/B run, medians of 11
# interleaved cold loads).
FACTORY_EAGER = (
    (
        "async function _createPyodideModule(moduleArg={}){",
        "var _createPyodideModule=(async function(moduleArg={}){",
    ),
    (
        ";return moduleRtn}export default _createPyodideModule;",
        ";return moduleRtn});export default _createPyodideModule;",
    ),
)


# After the edits above, `assignWasmExports` gives each of the wasm's 4,867 exports a variable of
# the runtime's and a `Module` property (387 KB of code, plus an 89 KB `var` list), and runs once
# at start-up, after instantiation: about 15 ms of the worker's path to ready, and the largest part
# of the 1.25 MB V8 parses with the import. The runtime's JavaScript names 430 of them; the others
# can only be reached through the dynamic linker, which has its own table (`mergeLibSymbols`, kept
# whole: `dlsym` still finds every symbol, tests/test_cross_runtime.py). So the build keeps the
# assignments and declarations of the exports that pyodide.asm.mjs (outside those two places),
# pyodide.mjs, the engine's worker or our Node tools name, and drops the rest (trimmed_exports).
ASSIGN_EXPORTS = "function assignWasmExports(wasmExports){"
ASSIGNMENT = re.compile(r'(?P<name>[\w$]+)=Module\["(?P=name)"\]=wasmExports\["[^"]+"\]')
IDENTIFIER = re.compile(r"[A-Za-z_$][\w$]*")


def trimmed_exports(runtime: str, around: str) -> str:
    """``runtime`` (pyodide.asm.mjs) assigning only the wasm exports named outside
    ``assignWasmExports`` and its ``var`` list, in ``runtime`` or in ``around`` (other JavaScript)."""
    if runtime.count(ASSIGN_EXPORTS) != 1:
        raise RuntimeError(
            f"the text to edit occurs {runtime.count(ASSIGN_EXPORTS)} times, not once: {ASSIGN_EXPORTS}"
        )
    start = runtime.index(ASSIGN_EXPORTS) + len(ASSIGN_EXPORTS)
    end = runtime.index("}", start)  # a body of assignments only, without braces
    statements = runtime[start:end].split(";")
    names = [m["name"] for s in statements if (m := ASSIGNMENT.fullmatch(s))]
    if not names:
        raise RuntimeError("assignWasmExports assigns no export the expected way")
    declaration = f"var {names[0]},"
    if runtime.count(declaration) != 1:
        raise RuntimeError(f"the exports' var list occurs {runtime.count(declaration)} times, not once")
    decl_start = runtime.index(declaration) + len("var ")
    decl_end = runtime.index(";", decl_start)
    declared = runtime[decl_start:decl_end].split(",")
    elsewhere = runtime[:decl_start] + runtime[decl_end:start] + runtime[end:] + around
    named = set(IDENTIFIER.findall(elsewhere))
    dropped = {name for name in names if name not in named}
    if not dropped <= set(declared):
        raise RuntimeError("an export to drop is not in the exports' var list")
    kept = ";".join(s for s in statements if not ((m := ASSIGNMENT.fullmatch(s)) and m["name"] in dropped))
    kept_declared = ",".join(name for name in declared if name not in dropped)
    return runtime[:decl_start] + kept_declared + runtime[decl_end:start] + kept + runtime[end:]


def _around_runtime() -> str:
    """The JavaScript that runs with pyodide.asm.mjs and may name its exports."""
    files = [PYODIDE_DIR / "pyodide.mjs", WORKER_SOURCE, *sorted(TOOLS.glob("*.mjs"))]
    return "\n".join(path.read_text("utf-8") for path in files)


def _replaced(text: str, pairs: tuple[tuple[str, str], ...]) -> str:
    """``text`` with the first part of each pair, found exactly once, replaced by the second."""
    for old, new in pairs:
        found = text.count(old)
        if found != 1:
            raise RuntimeError(f"the text to edit occurs {found} times, not once: {old[:60]}")
        text = text.replace(old, new)
    return text


RUNTIME_EDITS = (
    (
        "pyodide.asm.mjs",
        "updateGOT(origExports);LDSO.init()",
        "updateGOT(Object.fromEntries(Object.keys(GOT).filter(name=>name in origExports)"
        ".map(name=>[name,origExports[name]])));LDSO.init()",
    ),
    (
        "pyodide.asm.mjs",
        REPORT_UNDEFINED,
        _replaced(
            REPORT_UNDEFINED,
            (
                ("var reportUndefinedSymbols=()=>{", "var reportUndefinedSymbols=()=>{var pending=[];"),
                ("{entry.value=addFunction(value,value.sig)}", "{pending.push([entry,value])}"),
                ("`)}}}};", "`)}}}addFunctionsAtOnce(pending)};"),
            ),
        )
        + ADD_FUNCTIONS_AT_ONCE,
    ),
    ("pyodide.asm.mjs", FINALIZE_SOURCE, _replaced(FINALIZE_SOURCE, FINALIZE_CALLS)),
    ("pyodide.asm.mjs", *RESTORE_HOOK),
    ("pyodide.asm.mjs", *TRAMPOLINE_SLOT),
    *(("pyodide.asm.mjs", old, new) for old, new in FACTORY_EAGER),
)
# The published snapshot: "ACSP", the memory's size, the number of runs, the number of copies,
# then an (offset, length) pair per run of bytes carried in the file, an (offset, address, length)
# triple per copy, all little-endian u32, then the runs' bytes one after another. A copy's bytes are
# not carried: they equal the runtime's memory at ``address`` as the wasm's data segments set it at
# instantiation, and the worker copies them from there. About half the snapshot is zeros, which the
# runtime's fresh memory already holds; a fifth of the rest is such unchanged static data. Blocks are
# 128 bytes: the heap's pages hold many zero runs shorter than a 4 KB page, and every byte carried
# goes through Chromium's download pipeline twice (network to Blob, Blob to the worker). 9.0
# instead of 11.3 MB for 1,981 runs and 332 copies (a 28 KB table); compressed, about the same
# (2.86 against 2.90 MB with zstd). Alone in a worker the file is in 20 ms sooner (121 against
# 141 ms, 9 loads); in the page's start, where everything shares two processors, no change was
# measured (21 interleaved loads).
SPARSE_MAGIC = b"ACSP"
SPARSE_BLOCK = 128
GZIP_SUFFIXES = (".wasm", ".zip", ".bin", ".mjs", ".js", ".json", ".css", ".html", ".svg")
# The engine's folders (the runtime and what the worker fetches): every file there also gets a
# FILE.zst, which a browser that accepts zstd is sent instead of FILE.gz (site/serve.py, and the
# site's CloudFront function, which knows these folders by name). Against gzip -9: the wasm and the
# snapshot weigh 18 and 26 % less (5.8 against 7.4 MB for both), and they inflate about four times
# faster (`zstd -b19`: 0.8 to 1.1 GB/s here, zlib 0.22). Level 19 with an 8 MB window, the most a
# browser must accept (RFC 9659).
ZSTD_FOLDERS = ("assets/pyodide", "assets/engine")
ZSTD_LEVEL = 19
ZSTD_WINDOW_LOG = 23
FORMULA_LABELS = {
    f: simulator.load_tariff().formula(f)["label"] for f in ("essentielle", "selection", "tout_compris")
}

# The simulation a visitor sees first; the page's form starts from these requests.
DEFAULT_PROFILE: dict[str, Any] = {
    "turnover": "850000",
    "b2b_share": "0.85",
    "sector": "services",
    "export": {"eu": "0.1", "world": "0"},
    "buyers_count": 25,
    "top_buyers": [
        {"name": "Client A", "share": "0.22"},
        {"name": "Client B", "share": "0.12", "grade": 3},
    ],
    "payment_terms_days": 45,
    "past_losses": "6000",
    "company_age_years": "7",
    "public_share": "0",
}
DEFAULT_CUSHION = "40000"
DEFAULT_INVOICE: dict[str, Any] = {
    "id": "simulation",
    "buyer": "Client A",
    "amount": "18000",
    "vat_included": False,
    "invoice_date": "2026-01-15",
    "due_date": "2026-03-01",
    "event": {"type": "insolvency", "date": "2026-04-10"},
    "declared_on": "2026-03-20",
    "extension_days": 0,
}


def _engine_archive() -> bytes:
    """The ``simulator`` package as a zip, byte-identical from one build to the next."""
    package = Path(simulator.__file__).resolve().parent
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(package.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix in (".py", ".json"):
                info = zipfile.ZipInfo(
                    f"simulator/{path.relative_to(package).as_posix()}", (2026, 1, 1, 0, 0, 0)
                )
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, path.read_bytes())
    return buffer.getvalue()


def _uleb(data: bytes, at: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, at


def _sleb(data: bytes, at: int) -> tuple[int, int]:
    """A signed LEB128 number at ``at``, and where it ends.

    >>> _sleb(bytes([0x7F]), 0), _sleb(bytes([0xC0, 0x00]), 0)
    ((-1, 1), (64, 2))
    """
    value, end = _uleb(data, at)
    bits = 7 * (end - at)
    return (value - (1 << bits) if data[end - 1] & 0x40 else value), end


def initial_memory(wasm: bytes) -> bytes:
    """The memory a wasm module starts with: zeros and its active data segments (no code runs)."""
    if wasm[:4] != b"\0asm":
        raise ValueError("not a wasm module")
    at, segments = 8, []
    while at < len(wasm):
        section = wasm[at]
        size, at = _uleb(wasm, at + 1)
        if section == 8:
            raise ValueError("the module has a start function: its memory at instantiation is not its data")
        if section == 11:
            count, cursor = _uleb(wasm, at)
            for _ in range(count):
                flags, cursor = _uleb(wasm, cursor)
                address = None
                if flags == 0:  # active, memory 0, offset given by `i32.const N; end`
                    if wasm[cursor] != 0x41:
                        raise ValueError("data segment offset is not a constant")
                    # A signed LEB128, read unsigned: the same value for an address (never negative).
                    address, cursor = _uleb(wasm, cursor + 1)
                    cursor += 1  # end
                elif flags != 1:  # 1: passive, copied by the program itself later
                    raise ValueError(f"data segment kind {flags} is not handled")
                length, cursor = _uleb(wasm, cursor)
                if address is not None:
                    segments.append((address, wasm[cursor : cursor + length]))
                cursor += length
        at += size
    memory = bytearray(max((a + len(d) for a, d in segments), default=0))
    for address, data in segments:
        memory[address : address + len(data)] = data
    return bytes(memory)


# The lean runtime. Restored from the snapshot, the engine calls about 1,120 of the runtime's
# 17,000 wasm functions; the other bodies (CPython's compiler, most of its C modules, SDL, ...)
# would otherwise be downloaded, decoded and validated on every first visit. The lean copy of the wasm
# keeps every function, type, import, table entry and data segment, so the snapshot's memory and
# table fit it, but a function the requests of coverage_requests() never reach gets a body of one
# `unreachable` instruction: 4.4 instead of 9.6 MB (1.5 instead of 2.9 MB with zstd). Its
# exports are then cut to those its JavaScript can reach (_Build.lean_bytes): 4.1 MB. Which
# functions the requests reach, Node's V8 says (site/tools/wasm_coverage.mjs). Should a
# visitor's request reach another one, the call traps, and the worker restores the snapshot on
# the full runtime and answers the request from there: the engine keeps no state between requests.
LEAN_STUB = b"\x03\x00\x00\x0b"  # a body of 3 bytes: no locals, `unreachable`, `end`
COMPILED_LINE = re.compile(r"^Compiled function 0x[0-9a-f]+#(\d+) ", re.MULTILINE)
# Far fewer means that Node's V8 no longer prints the lines this build reads.
LEAN_MIN_FUNCTIONS = 500


def wasm_sections(wasm: bytes) -> list[tuple[int, int, int, int]]:
    """(id, start, start of the payload, end) of each section of a wasm module."""
    if wasm[:8] != b"\0asm\x01\0\0\0":
        raise ValueError("not a wasm module (version 1)")
    found, at = [], 8
    while at < len(wasm):
        size, payload = _uleb(wasm, at + 1)
        found.append((wasm[at], at, payload, payload + size))
        at = payload + size
    if at != len(wasm):
        raise ValueError("a section runs past the end of the module")
    return found


def _name(wasm: bytes, at: int) -> tuple[str, int]:
    length, at = _uleb(wasm, at)
    return wasm[at : at + length].decode("utf-8"), at + length


def _entries(wasm: bytes, number: int) -> tuple[int, int]:
    """How many entries section ``number`` of a wasm module holds (0 without it), and where the
    first one starts."""
    for section, _, at, _ in wasm_sections(wasm):
        if section == number:
            return _uleb(wasm, at)
    return 0, len(wasm)


def imports(wasm: bytes) -> list[tuple[str, str, int]]:
    """(module, name, kind) of each import of a wasm module (kind 0: a function, 3: a global)."""
    count, at = _entries(wasm, 2)
    found = []
    for _ in range(count):
        module, at = _name(wasm, at)
        name, at = _name(wasm, at)
        kind, at = wasm[at], at + 1
        found.append((module, name, kind))
        if kind == 0:  # function: its type index
            _, at = _uleb(wasm, at)
        elif kind in (1, 2):  # table (element type, then limits) or memory (limits)
            at += kind == 1
            flags, at = _uleb(wasm, at)
            _, at = _uleb(wasm, at)
            if flags & 1:
                _, at = _uleb(wasm, at)
        elif kind == 3:  # global: value type, mutability
            at += 2
        elif kind == 4:  # tag: attribute, type index
            _, at = _uleb(wasm, at + 1)
        else:
            raise ValueError(f"import kind {kind} is not handled")
    return found


def imported_functions(wasm: bytes) -> int:
    """How many functions a module imports: the first indices of its function index space."""
    return sum(kind == 0 for _, _, kind in imports(wasm))


def exports(wasm: bytes) -> list[tuple[str, int, bytes]]:
    """(name, kind, the entry's bytes) of each export of a wasm module (kind 0: a function)."""
    count, at = _entries(wasm, 7)
    found = []
    for _ in range(count):
        start = at
        name, at = _name(wasm, at)
        kind = wasm[at]
        _, at = _uleb(wasm, at + 1)
        found.append((name, kind, wasm[start:at]))
    return found


# Export kinds the lean runtime keeps only where its JavaScript can reach them (named_exports).
FUNCTION_EXPORT, GLOBAL_EXPORT = 0, 3


def named_exports(wasm: bytes, javascript: str) -> set[str]:
    """The function and global exports of the runtime's wasm that its JavaScript can reach: those
    the linker's own imports (GOT entries) ask for, and those ``javascript`` names, as ``name`` (a
    string, as in `wasmExports["name"]`) or as Emscripten's ``_name``. The others only the dynamic
    linker finds, for a side module or `dlsym`, neither of which the engine uses."""
    named = set(IDENTIFIER.findall(javascript))
    linked = {name for module, name, _ in imports(wasm) if module.startswith("GOT.")}
    return {
        name
        for name, kind, _ in exports(wasm)
        if kind in (FUNCTION_EXPORT, GLOBAL_EXPORT)
        and (name in linked or name in named or f"_{name}" in named)
    }


def lean_wasm(wasm: bytes, keep: set[int] | None, exported: set[str] | None = None) -> bytes:
    """``wasm`` with each function body whose index (imports first) is not in ``keep`` made
    `unreachable` (None: every body kept) and, given ``exported``, only those function and global
    exports left (the memory, table and tag exports stay); everything else byte for byte."""
    first = imported_functions(wasm)
    out = bytearray(wasm[:8])
    for section, start, at, end in wasm_sections(wasm):
        if section == 7 and exported is not None:
            entries = [
                raw
                for name, kind, raw in exports(wasm)
                if kind not in (FUNCTION_EXPORT, GLOBAL_EXPORT) or name in exported
            ]
            payload = _leb(len(entries)) + b"".join(entries)
            out += bytes([7]) + _leb(len(payload)) + payload
            continue
        if section != 10 or keep is None:
            out += wasm[start:end]
            continue
        count, cursor = _uleb(wasm, at)
        bodies = bytearray(_leb(count))
        for index in range(first, first + count):
            size, start = _uleb(wasm, cursor)
            bodies += wasm[cursor : start + size] if index in keep else LEAN_STUB
            cursor = start + size
        out += bytes([10]) + _leb(len(bodies)) + bodies
    return bytes(out)


# The linker's slot lookups (see ADD_FUNCTIONS_AT_ONCE) need, for a function index, the table slot
# the wasm's element segment gives it. The worker used to decode the 7,752 indices of that segment
# itself, in a JavaScript loop hot enough that V8 compiled it again, in the background, with its
# optimising compilers (13 and 107 ms of a processor in two warm loads under --trace-opt, while the
# engine starts on two). The build decodes them here instead, into a custom section of the lean
# runtime that V8 ignores and the worker reads with `WebAssembly.Module.customSections`: its name,
# then little-endian i32s, how many functions have a slot, then each function's last slot, or -1.
SLOTS_SECTION = "ac.slots"
WASM_HEADER = b"\0asm\1\0\0\0"  # magic and version 1


def table_slots(wasm: bytes) -> dict[int, int] | None:
    """Each function's last slot (as a scan of the whole table would find it) in the table the
    element section of ``wasm`` fills, or None for any other kind of element section (the worker's
    own reading then decides, see site/assets/js/engine-worker.js).

    >>> table_slots(WASM_HEADER + bytes([9, 8, 1, 0, 0x41, 5, 0x0B, 2, 7, 3]))
    {7: 5, 3: 6}
    """
    for section, _, at, end in wasm_sections(wasm):
        if section != 9:
            continue
        count, cursor = _uleb(wasm, at)
        slots: dict[int, int] = {}
        for _ in range(count):
            flags, cursor = _uleb(wasm, cursor)
            if flags != 0 or wasm[cursor] != 0x41:  # active, table 0, `i32.const N; end`
                return None
            offset, cursor = _sleb(wasm, cursor + 1)
            if offset < 0 or wasm[cursor] != 0x0B:
                return None
            number, cursor = _uleb(wasm, cursor + 1)
            for position in range(number):
                index, cursor = _uleb(wasm, cursor)
                slots[index] = offset + position
        return slots if cursor == end else None
    return None


def with_slots(wasm: bytes) -> bytes:
    """``wasm`` with its table slots (table_slots) in a custom section at its end (SLOTS_SECTION).

    >>> module = WASM_HEADER + bytes([9, 8, 1, 0, 0x41, 5, 0x0B, 2, 2, 0])
    >>> with_slots(module)[len(module):].hex(" ")
    '00 19 08 61 63 2e 73 6c 6f 74 73 02 00 00 00 06 00 00 00 ff ff ff ff 05 00 00 00'
    """
    slots = table_slots(wasm)
    if not slots:
        return wasm
    last = [-1] * (max(slots) + 1)
    for index, slot in slots.items():
        last[index] = slot
    name = SLOTS_SECTION.encode()
    payload = _leb(len(name)) + name + struct.pack(f"<{len(last) + 1}i", len(slots), *last)
    return wasm + b"\0" + _leb(len(payload)) + payload


def _leb(value: int) -> bytes:
    out = bytearray()
    while True:
        low, value = value & 0x7F, value >> 7
        out.append(low | 0x80 if value else low)
        if not value:
            return bytes(out)


def called_functions(trace: str) -> set[int]:
    """The function indices in the lines V8 prints under ``--trace-wasm-compilation-times``."""
    return {int(index) for index in COMPILED_LINE.findall(trace)}


def _varied_requests(count: int, seed: int) -> list[dict[str, Any]]:
    """``count`` seeded compare, settle and portfolio requests over the tariff's sectors, with
    sizes, clients and dates a visitor could enter, so the lean runtime keeps what they reach."""
    rng = random.Random(seed)
    sectors = sorted(simulator.load_tariff().data["sectors"])
    requests: list[dict[str, Any]] = []
    for _ in range(count):
        buyers = [
            {"name": f"Client {chr(65 + j)}", "share": f"{rng.uniform(0.01, 0.12):.2f}"}
            | ({"grade": rng.randint(1, 10)} if rng.random() < 0.5 else {})
            for j in range(rng.randint(0, 6))
        ]
        profile = {
            "turnover": str(
                rng.choice((30_000, 150_000, 850_000, 4_000_000, 9_000_000)) + rng.randint(0, 999)
            ),
            "b2b_share": f"{rng.uniform(0.75, 1):.2f}",
            "sector": rng.choice(sectors),
            "export": {"eu": f"{rng.uniform(0, 0.3):.2f}", "world": f"{rng.uniform(0, 0.2):.2f}"},
            "buyers_count": rng.randint(len(buyers) + 1, 400),
            "top_buyers": buyers,
            "payment_terms_days": rng.choice((0, 30, 45, 60, 90, 120)),
            "past_losses": str(rng.choice((0, 2500, 60_000))),
            "company_age_years": str(rng.choice((0, 1, 3, 12, 40))),
            "public_share": f"{rng.uniform(0, 0.2):.2f}",
        }
        requests.append({"op": "compare", "profile": profile, "options": {}})
        compared = simulator.handle(requests[-1])
        if not compared["ok"]:
            continue
        for result in compared["result"]["formulas"]:
            if not result["available"]:
                continue
            day = rng.randint(1, 28)
            invoice = {
                **DEFAULT_INVOICE,
                "amount": f"{rng.uniform(100, 250_000):.2f}",
                "invoice_date": f"2026-0{rng.randint(1, 2)}-{day:02d}",
                "vat_included": rng.random() < 0.5,
                "extension_days": rng.choice((0, 0, 30, 90)),
                "event": rng.choice(
                    ({"type": "insolvency", "date": "2026-06-10"}, {"type": "protracted_default"})
                ),
                "declared_on": rng.choice(("2026-06-20", "2026-12-30")),
            }
            requests.append(
                {"op": "settle", "terms": result["terms"], "invoices": [invoice], "paid_this_year": "0"}
            )
        requests.append(
            {
                "op": "portfolio",
                "profile": profile,
                "options": {},
                "cash_cushion": str(rng.randint(0, rng.choice((20_000, 200_000, 2_000_000)))),
            }
        )
    return requests


def coverage_requests() -> list[str]:
    """The request texts whose wasm functions the lean runtime keeps: the cross-runtime test's
    corpus on the page's default profile, the page's own first requests, varied ones, then a
    long visit: a request whose parsing grows the heap, and all of them again.

    Which functions a request reaches can depend on what ran before it (the collector, a table
    growing): a few seeds of varied requests still reach one function these miss, answered by
    the full runtime if a visitor's session reaches it.
    """
    spec = importlib.util.spec_from_file_location("engine_requests", TOOLS / "engine_requests.py")
    assert spec is not None
    assert spec.loader is not None
    corpus = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(corpus)
    texts = [text for _, text in corpus.build_requests(DEFAULT_PROFILE)]
    page = default_simulation()
    texts += [corpus.request_text(page["requests"][op]) for op in ("compare", "portfolio")]
    texts += [corpus.request_text(r) for r in _whatif_requests(page["results"]["compare"]).values()]
    texts += [corpus.request_text(request) for request in _varied_requests(300, seed=20261127)]
    # A long visit: the heap grows (a client's name of 8 MB is parsed, then refused), and the
    # whole corpus again, so the collector's rarer paths and new arenas are reached too.
    huge = {
        "op": "compare",
        "profile": {**DEFAULT_PROFILE, "top_buyers": [{"name": "x" * (8 << 20), "share": "0.1"}]},
    }
    return [*texts, corpus.request_text(huge), *texts]


def _image_base(snapshot: bytes, image: bytes) -> int | None:
    """Where the memory starts in Pyodide's snapshot file: after its header, found by its first data."""
    first = next((i for i, byte in enumerate(image) if byte), None)
    if first is None:
        return None
    found = snapshot.find(image[first : first + 256])
    return None if found < 0 else found - first


def sparse(snapshot: bytes, image: bytes = b"", block: int = SPARSE_BLOCK) -> bytes:
    """``snapshot`` in the published format: its blocks that are neither zeros nor ``image``'s.

    >>> data = sparse(bytes(8192) + b"ab" + bytes(4094), block=4096)
    >>> len(data), unsparse(data) == bytes(8192) + b"ab" + bytes(4094)
    (4120, True)
    """
    zero = bytes(block)
    base = _image_base(snapshot, image)
    runs: list[list[int]] = []
    copies: list[list[int]] = []
    for start in range(0, len(snapshot), block):
        chunk = snapshot[start : start + block]
        if chunk == zero[: len(chunk)]:
            continue
        address = None if base is None else start - base
        if address is not None and address >= 0 and image[address : address + len(chunk)] == chunk:
            if copies and copies[-1][0] + copies[-1][2] == start and copies[-1][1] + copies[-1][2] == address:
                copies[-1][2] += len(chunk)
            else:
                copies.append([start, address, len(chunk)])
        elif runs and sum(runs[-1]) == start:
            runs[-1][1] += len(chunk)
        else:
            runs.append([start, len(chunk)])
    head = SPARSE_MAGIC + struct.pack("<III", len(snapshot), len(runs), len(copies))
    table = b"".join(struct.pack("<II", *run) for run in runs) + b"".join(
        struct.pack("<III", *c) for c in copies
    )
    return head + table + b"".join(snapshot[offset : offset + length] for offset, length in runs)


def unsparse(data: bytes, image: bytes = b"") -> bytes:
    """The snapshot a published file holds (what the worker rebuilds), ``image`` giving the copies."""
    if data[:4] != SPARSE_MAGIC:
        raise ValueError("not a sparse snapshot: it must start with ACSP")
    size, count, copies = struct.unpack_from("<III", data, 4)
    snapshot = bytearray(size)
    position = 16 + 8 * count + 12 * copies
    for index in range(count):
        offset, length = struct.unpack_from("<II", data, 16 + 8 * index)
        snapshot[offset : offset + length] = data[position : position + length]
        position += length
    if position != len(data):
        raise ValueError(f"sparse snapshot of {len(data)} bytes, its runs end at {position}")
    for index in range(copies):
        offset, address, length = struct.unpack_from("<III", data, 16 + 8 * count + 12 * index)
        if address + length > len(image):
            raise ValueError(f"copy of {length} bytes at {address} is beyond the {len(image)}-byte image")
        snapshot[offset : offset + length] = image[address : address + length]
    return bytes(snapshot)


def _pyodide_version() -> str:
    return json.loads((PYODIDE_DIR / "package.json").read_text("utf-8"))["version"]


def edit_runtime(name: str, data: bytes) -> bytes:
    """``data``, the pinned runtime's file ``name``, as the site serves it (see RUNTIME_EDITS)."""
    edits = tuple((old, new) for file, old, new in RUNTIME_EDITS if file == name)
    if not edits:
        return data
    try:
        text = _replaced(data.decode("utf-8"), edits)
        if name == "pyodide.asm.mjs":
            text = trimmed_exports(text, _around_runtime())
        return text.encode("utf-8")
    except RuntimeError as error:
        raise RuntimeError(f"{name}: {error}") from None


def runtime_dir() -> Path:
    """Pyodide's files as the site serves them (see RUNTIME_EDITS), kept in build/cache by content.

    The snapshot is made from this folder, and the cross-runtime test runs the engine from it.
    """
    files = {name: edit_runtime(name, (PYODIDE_DIR / name).read_bytes()) for name in PYODIDE_FILES}
    digest = hashlib.sha256()
    for name, data in files.items():
        digest.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
    folder = CACHE_DIR / f"pyodide-{_pyodide_version()}-{digest.hexdigest()[:16]}"
    if not folder.is_dir():
        partial = folder.with_name(folder.name + ".part")
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        for name, data in files.items():
            (partial / name).write_bytes(data)
        try:
            partial.replace(folder)
        except OSError:  # another build made it meanwhile
            shutil.rmtree(partial, ignore_errors=True)
            if not folder.is_dir():
                raise
        for stale in CACHE_DIR.glob("pyodide-*"):  # 13 MB each: keep only the folder in use
            if stale != folder:
                shutil.rmtree(stale, ignore_errors=True)
    return folder


class _Build:
    """What one build computes once: the engine archive, its hash and the asset URLs."""

    def __init__(self) -> None:
        if not PYODIDE_DIR.is_dir():
            raise RuntimeError("node_modules/pyodide is missing: run `npm ci` (make site does)")
        self.archive = _engine_archive()
        self.pyodide_version = _pyodide_version()
        # The lock file's header (ABI version, platform, Python) without its 357 packages: the
        # worker hands it to loadPyodide, which then neither fetches nor indexes the 119 KB file.
        # The engine loads no package, so the empty package list costs nothing.
        lock = json.loads((PYODIDE_DIR / "pyodide-lock.json").read_text("utf-8"))
        self.lock_info = lock["info"]
        self.runtime = runtime_dir()
        # Published as assets/pyodide/VERSION-HASH/: cached for a year like every engine file, so the
        # name must change with the content. The build edits these files, and an older copy kept by a
        # browser must never meet a snapshot made by other edits.
        self.runtime_folder = self.runtime.name.removeprefix("pyodide-")
        # The snapshot's content also depends on the tool that makes it and on the runtime (whose
        # folder's name carries Pyodide's version and the edited files' hash).
        maker = (TOOLS / "make_snapshot.mjs").read_bytes()
        digest = hashlib.sha256(self.archive + maker + self.runtime.name.encode()).hexdigest()[:16]
        self.hash = digest
        self.archive_name = f"simulator-{digest}.zip"
        self.snapshot_name = f"snapshot-{digest}.bin"
        # The worker under a name of its content, cached for a year like the engine's files: a
        # returning visitor's worker starts without asking the server whether it changed.
        self.worker = WORKER_SOURCE.read_bytes()
        self.worker_name = f"engine-worker-{hashlib.sha256(self.worker).hexdigest()[:16]}.js"
        self._lean_name: str | None = None
        self._image: bytes | None = None
        self._lean_bytes: bytes | None = None
        self.lean: Path | None = None  # the lean runtime's wasm in build/cache, once known

    def lean_bytes(self) -> bytes:
        """The published lean runtime: the bodies the engine reaches (_lean_runtime), the function
        and global exports the runtime's JavaScript can reach (named_exports: 244 of 7,415
        functions, 310 of 1,141 globals), and the table's slots (with_slots). Each export left out
        is one V8 does not make an object for at instantiation and the linker does not walk at
        start-up: leaving out the functions took the worker's step from the wasm compiled to the
        runtime created from 99 to 65 ms (medians of 11 interleaved cold loads, an instrumented
        build); the globals, its step from the wasm instantiated to the runtime created from 93 to
        63 ms (medians of 21 interleaved warm loads)."""
        if self._lean_bytes is None:
            javascript = (self.runtime / "pyodide.asm.mjs").read_text("utf-8") + _around_runtime()
            wasm = _lean_runtime().read_bytes()
            self._lean_bytes = with_slots(lean_wasm(wasm, None, named_exports(wasm, javascript)))
        return self._lean_bytes

    def lean_name(self) -> str:
        """The lean runtime's published name, after its content (made on first use)."""
        if self._lean_name is None:
            digest = hashlib.sha256(self.lean_bytes()).hexdigest()[:16]
            self._lean_name = f"runtime-{digest}.wasm"
        return self._lean_name

    def image(self) -> bytes:
        """The runtime's memory as its data segments set it at instantiation: where the snapshot's
        copies come from (read once per build)."""
        if self._image is None:
            self._image = initial_memory((self.runtime / "pyodide.asm.wasm").read_bytes())
        return self._image

    def config(self, base_url: str) -> dict[str, Any]:
        """What the worker needs to start, URLs relative to the page's base.

        The size of the snapshot's memory lets the worker hand Pyodide a buffer before the bytes arrive.
        """
        return {
            "indexURL": f"{base_url}/assets/pyodide/{self.runtime_folder}/",
            "archiveURL": f"{base_url}/assets/engine/{self.archive_name}",
            "snapshotURL": f"{base_url}/assets/engine/{self.snapshot_name}",
            "snapshotSize": _snapshot().stat().st_size,
            "staticSize": len(self.image()),
            "leanWasmURL": f"{base_url}/assets/engine/{self.lean_name()}",
            "engine": self.hash,
            "pyodide": self.pyodide_version,
            "lockInfo": self.lock_info,
        }


_build: _Build | None = None


def on_pre_build(config: Any) -> None:
    global _build
    _build = _Build()


def _handle(request: dict[str, Any]) -> dict[str, Any]:
    response = simulator.handle(request)
    if not response["ok"]:
        raise RuntimeError(f"default simulation refused by the engine: {response['error']}")
    return response["result"]


def _whatif_requests(compare: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The page's what-if request for each formula ``compare`` (a compare result) offers: the
    default invoice settled under that formula's terms."""
    return {
        result["formula"]: {
            "op": "settle",
            "terms": result["terms"],
            "invoices": [DEFAULT_INVOICE],
            "paid_this_year": "0",
        }
        for result in compare["formulas"]
        if result["available"]
    }


def default_simulation() -> dict[str, Any]:
    """The default requests and the engine's results for them."""
    compare_request = {"op": "compare", "profile": DEFAULT_PROFILE, "options": {}}
    portfolio_request = {
        "op": "portfolio",
        "profile": DEFAULT_PROFILE,
        "options": {},
        "cash_cushion": DEFAULT_CUSHION,
    }
    compare = _handle(compare_request)
    whatif = {formula: _handle(request) for formula, request in _whatif_requests(compare).items()}
    return {
        "requests": {"compare": compare_request, "portfolio": portfolio_request, "invoice": DEFAULT_INVOICE},
        "results": {"compare": compare, "portfolio": _handle(portfolio_request), "whatif": whatif},
    }


def _prerender(results: dict[str, Any]) -> dict[str, str]:
    payload = json.dumps({**results, "labels": FORMULA_LABELS}, ensure_ascii=False).encode()
    done = subprocess.run(
        ["node", str(TOOLS / "prerender.mjs")], input=payload, capture_output=True, check=False, timeout=120
    )
    if done.returncode != 0:
        raise RuntimeError(f"prerender failed: {done.stderr.decode(errors='replace')}")
    return json.loads(done.stdout)


def _form_context() -> dict[str, Any]:
    """Tariff facts the form needs: sectors, option bounds and defaults per formula."""
    tariff = simulator.load_tariff()
    return {
        "sectors": [(key, value["label"]) for key, value in tariff["sectors"].items()],
        "formulas": {
            name: {
                "label": spec["label"],
                "options": spec["options"],
                "automatic_cover": spec["automatic_cover"],
            }
            for name, spec in tariff["formulas"].items()
        },
    }


def _script_json(value: Any) -> str:
    """``value`` as compact JSON for a ``<script type="application/json">``: no ``</`` to end it."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).replace("</", "<\\/")


def on_page_context(context: dict[str, Any], page: Any, config: Any, nav: Any) -> dict[str, Any]:
    if page.meta.get("template") != "simulator.html":
        return context
    assert _build is not None
    simulation = default_simulation()
    base_url = context.get("base_url", "..")
    context["sim"] = {
        "html": _prerender(simulation["results"]),
        "config": _script_json(_build.config(base_url)),
        "boot": _script_json({**simulation, "labels": FORMULA_LABELS}),
        "form": _form_context(),
        "profile": DEFAULT_PROFILE,
        "invoice": DEFAULT_INVOICE,
        "cushion": DEFAULT_CUSHION,
        "worker_url": f"{base_url}/assets/engine/{_build.worker_name}",
    }
    return context


def _snapshot() -> Path:
    """The memory snapshot for this engine and Pyodide, made once and kept in build/cache."""
    assert _build is not None
    cached = CACHE_DIR / _build.snapshot_name
    if not cached.exists():
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        archive_path = CACHE_DIR / _build.archive_name
        archive_path.write_bytes(_build.archive)
        partial = cached.with_suffix(".part")
        done = subprocess.run(
            ["node", str(TOOLS / "make_snapshot.mjs"), str(_build.runtime), str(archive_path), str(partial)],
            capture_output=True,
            check=False,
            timeout=600,
        )
        if done.returncode != 0:
            raise RuntimeError(f"snapshot failed: {done.stderr.decode(errors='replace')[-2000:]}")
        partial.replace(cached)
    return cached


def reached_functions(runtime: Path, snapshot: Path, texts: list[str]) -> set[int]:
    """The wasm functions of ``runtime`` (a folder of Pyodide's files) that restoring ``snapshot``
    and answering ``texts`` call, as the site's worker does (site/tools/wasm_coverage.mjs)."""
    with tempfile.TemporaryDirectory(prefix="wasm-coverage-") as folder:
        requests = Path(folder) / "requests.json"
        requests.write_text(json.dumps(texts), "utf-8")
        done = subprocess.run(
            [
                *("node", "--trace-wasm-compilation-times", "--wasm-lazy-compilation"),
                *(str(TOOLS / "wasm_coverage.mjs"), str(runtime), str(snapshot), str(requests)),
                str(Path(folder) / "answers.json"),
            ],
            capture_output=True,
            check=False,
            timeout=600,
        )
    if done.returncode != 0:
        raise RuntimeError(f"wasm coverage failed: {done.stderr.decode(errors='replace')[-2000:]}")
    return called_functions(done.stdout.decode("utf-8", errors="replace"))


def _lean_runtime() -> Path:
    """The lean runtime's wasm for this runtime, snapshot and request corpus (see LEAN_STUB), made
    once and kept in build/cache; found once per build."""
    assert _build is not None
    if _build.lean is not None:
        return _build.lean
    snapshot = _snapshot()
    texts = coverage_requests()
    tool = TOOLS / "wasm_coverage.mjs"
    digest = hashlib.sha256()
    for part in (_build.runtime.name, snapshot.name, tool.read_text("utf-8"), *texts):
        digest.update(part.encode("utf-8") + b"\0")
    cached = CACHE_DIR / f"lean-{digest.hexdigest()[:16]}.wasm"
    if not cached.exists():
        _make_lean(cached, snapshot, texts)
    _build.lean = cached
    return cached


def _make_lean(cached: Path, snapshot: Path, texts: list[str]) -> None:
    """Write the lean runtime to ``cached`` (see _lean_runtime)."""
    assert _build is not None
    keep = reached_functions(_build.runtime, snapshot, texts)
    if len(keep) < LEAN_MIN_FUNCTIONS:
        raise RuntimeError(
            f"wasm coverage: V8 reported {len(keep)} compiled functions, fewer than {LEAN_MIN_FUNCTIONS}:"
            " does this Node still print `Compiled function ...#N` under --trace-wasm-compilation-times?"
        )
    partial = cached.with_suffix(".part")
    partial.write_bytes(lean_wasm((_build.runtime / "pyodide.asm.wasm").read_bytes(), keep))
    partial.replace(cached)


def _keep_only(patterns: tuple[str, ...], names: set[str]) -> None:
    """Remove the files of build/cache that match one of ``patterns``, but those in ``names``."""
    for pattern in patterns:
        for stale in CACHE_DIR.glob(pattern):
            if stale.name not in names:
                stale.unlink(missing_ok=True)


def zstd_compress(data: bytes) -> bytes:
    """``data`` as one zstd frame that any browser accepting zstd can decode (window of 8 MB at most)."""
    params = zstandard.ZstdCompressionParameters.from_level(
        ZSTD_LEVEL, source_size=len(data), window_log=ZSTD_WINDOW_LOG, write_content_size=True
    )
    return zstandard.ZstdCompressor(compression_params=params).compress(data)


def _compressed_sibling(path: Path, coding: str) -> str:
    """FILE.gz or FILE.zst beside FILE, for a host that serves precompressed files (kept in
    build/cache by content). Returns the name of the cached copy."""
    data = path.read_bytes()
    cached = CACHE_DIR / f"{coding}-{hashlib.sha256(data).hexdigest()[:24]}.{coding}"
    if not cached.exists():
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        partial = cached.with_suffix(".part")
        partial.write_bytes(
            gzip.compress(data, compresslevel=9, mtime=0) if coding == "gz" else zstd_compress(data)
        )
        partial.replace(cached)
    shutil.copyfile(cached, path.with_name(f"{path.name}.{coding}"))
    return cached.name


def on_post_build(config: Any) -> None:
    assert _build is not None
    site = Path(config["site_dir"])
    runtime = site / "assets" / "pyodide" / _build.runtime_folder
    runtime.mkdir(parents=True, exist_ok=True)
    for name in PYODIDE_FILES:
        shutil.copyfile(_build.runtime / name, runtime / name)
    engine = site / "assets" / "engine"
    engine.mkdir(parents=True, exist_ok=True)
    archive = engine / _build.archive_name
    archive.write_bytes(_build.archive)
    (engine / _build.snapshot_name).write_bytes(sparse(_snapshot().read_bytes(), _build.image()))
    (engine / _build.worker_name).write_bytes(_build.worker)
    (engine / _build.lean_name()).write_bytes(_build.lean_bytes())
    # Published only under its hashed name: the copy that came with site/assets is never loaded.
    (site / "assets" / "js" / WORKER_SOURCE.name).unlink(missing_ok=True)
    files = [path for path in sorted(site.rglob("*")) if path.is_file()]
    used = {
        _compressed_sibling(path, "gz")
        for path in files
        if path.suffix in GZIP_SUFFIXES and path.stat().st_size > 1024
    }
    used |= {
        _compressed_sibling(path, "zst")
        for folder in ZSTD_FOLDERS
        for path in files
        if path.is_relative_to(site / folder) and path.suffix not in (".gz", ".zst")
    }
    # What older builds left goes: each engine change made a 31 MB snapshot, and each changed file
    # compressed copies (an older snapshot's are 3 and 4 MB).
    _keep_only(
        ("snapshot-*", "simulator-*.zip", "gz-*", "zst-*", "lean-*"),
        {_build.snapshot_name, _build.archive_name, _lean_runtime().name, *used},
    )
