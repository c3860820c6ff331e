"""The engine worker's snapshot writing (site/assets/js/engine-worker.js), run by Node.

The worker writes a published snapshot's runs and copies straight into the runtime's memory and
zeros only the part the runtime's start can have written: below the heap's end. A made-up runtime
memory, dirtied where a start writes, must come out equal to the snapshot's image, byte for byte;
the browser test checks the same on the real snapshot (test_site_browser.py).
"""

from __future__ import annotations

import json
import random
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from .browser import ROOT, load_module

engine_assets = load_module("engine_assets_worker", ROOT / "site" / "hooks" / "engine_assets.py")
WORKER = ROOT / "site" / "assets" / "js" / "engine-worker.js"
HARNESS = ROOT / "tests" / "worker_node" / "snapshot_image.mjs"
BLOCK = engine_assets.SPARSE_BLOCK
HEADER = 256  # Pyodide's header: its length at byte 4, then the memory's image
IMAGE = 64 * 1024
STATIC = 8 * 1024  # what the wasm's data segments set
HEAP_BASE, BRK = 40 * 1024, 41 * 1024  # the stack grows down from the heap's start

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="node is not on PATH")


def noise(rng: random.Random, length: int) -> bytes:
    return bytes(rng.randrange(1, 256) for _ in range(length))


def made_up(seed: int) -> tuple[bytes, bytes, bytearray]:
    """A runtime's fresh static data, a snapshot of its memory, and the memory as a start left it."""
    rng = random.Random(seed)
    fresh = bytearray(noise(rng, STATIC))
    fresh[2 * BLOCK : 4 * BLOCK] = bytes(2 * BLOCK)  # static data may hold zero blocks
    image = bytearray(IMAGE)
    image[:STATIC] = fresh
    image[5 * BLOCK : 6 * BLOCK] = noise(rng, BLOCK)  # static data the program changed: a run
    image[7 * BLOCK : 8 * BLOCK] = bytes(BLOCK)  # ... or zeroed
    image[STATIC + BLOCK : STATIC + 3 * BLOCK] = noise(rng, 2 * BLOCK)  # zero-initialised data set
    for start in range(HEAP_BASE - 24 * BLOCK, IMAGE - 48 * BLOCK, 3 * BLOCK):  # stack top, heap
        image[start : start + 2 * BLOCK] = noise(rng, 2 * BLOCK)
    image[IMAGE - BLOCK :] = noise(rng, BLOCK)  # up to the image's last byte
    image[BRK - BLOCK : BRK] = bytes(BLOCK)  # zeros up to the heap's end, which the start wrote
    snapshot = struct.pack("<II", 0x1234ABCD, HEADER) + noise(rng, HEADER - 8) + bytes(image)

    memory = bytearray(IMAGE + 4096)  # the runtime's memory may be larger than the image
    memory[:STATIC] = fresh
    # What the start writes: static data and zero-initialised data, including blocks the snapshot
    # has zero; its stack, deeper than the snapshot's in places; a few allocations on the heap.
    for start in (7 * BLOCK + 5, 2 * BLOCK + 9, STATIC + 20 * BLOCK + 3):
        memory[start : start + 10] = noise(rng, 10)
    memory[HEAP_BASE - 60 * BLOCK + 21] = 1  # below every block of the snapshot's stack
    memory[HEAP_BASE - 30 * BLOCK : HEAP_BASE] = noise(rng, 30 * BLOCK)
    memory[HEAP_BASE:BRK] = noise(rng, BRK - HEAP_BASE)
    return bytes(fresh), snapshot, memory


def written(tmp_path: Path, fresh: bytes, snapshot: bytes, memory: bytes) -> bytes:
    """Pyodide's header, then the memory, as the worker's code leaves them for ``snapshot``."""
    files = {name: tmp_path / name for name in ("fresh", "sparse", "memory", "case.json", "out")}
    files["fresh"].write_bytes(fresh)
    files["sparse"].write_bytes(engine_assets.sparse(snapshot, fresh))
    files["memory"].write_bytes(memory)
    case = {
        "size": len(snapshot),
        "staticSize": STATIC,
        "brk": BRK,
        "memory": str(files["memory"]),
        "fresh": str(files["fresh"]),
    }
    files["case.json"].write_text(json.dumps(case), "utf-8")
    done = subprocess.run(
        ["node", str(HARNESS), str(WORKER), str(files["sparse"]), str(files["case.json"]), str(files["out"])],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return files["out"].read_bytes()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_memory_becomes_the_snapshots_image(tmp_path, seed):
    fresh, snapshot, memory = made_up(seed)
    sparse = engine_assets.sparse(snapshot, fresh)
    runs, copies = struct.unpack_from("<II", sparse, 8)
    assert runs  # the case has both kinds
    assert copies
    out = written(tmp_path, fresh, snapshot, memory)
    assert out[:HEADER] == snapshot[:HEADER]
    assert out[HEADER : HEADER + IMAGE] == snapshot[HEADER:]
    assert out[HEADER + IMAGE :] == memory[IMAGE:]  # past the image: left as it was


def test_a_memory_smaller_than_the_image_is_refused(tmp_path):
    fresh, snapshot, memory = made_up(4)
    files = tmp_path
    with pytest.raises(AssertionError, match="smaller than the snapshot"):
        written(files, fresh, snapshot, memory[: IMAGE - 4096])
