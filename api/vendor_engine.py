"""Copy the engine (``simulator/``) into ``api/vendor/`` before ``chalice package``.

Chalice puts the contents of ``vendor/`` at the root of the deployment zip,
so the Lambda imports ``simulator`` as the tests do. The copy is build output
(ignored by git); run ``python api/vendor_engine.py --clean`` to remove it.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

API = Path(__file__).resolve().parent
SOURCE = API.parent / "simulator"
TARGET = API / "vendor" / "simulator"


def vendor(source: Path = SOURCE, target: Path = TARGET) -> list[Path]:
    """Replace ``target`` by the Python files and tariff data of ``source``; return the files copied."""
    if not (source / "__init__.py").is_file():
        raise SystemExit(f"engine not found: {source}")
    if target.exists():
        shutil.rmtree(target)
    copied = []
    for path in sorted(source.rglob("*")):
        relative = path.relative_to(source)
        if "__pycache__" in relative.parts or not path.is_file() or path.suffix not in (".py", ".json"):
            continue
        destination = target / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, destination)
        copied.append(destination)
    return copied


def main(argv: list[str] | None = None) -> int:
    """Command line: vendor the engine, or remove the copy with ``--clean``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clean", action="store_true", help="remove api/vendor/simulator and stop")
    args = parser.parse_args(argv)
    if args.clean:
        shutil.rmtree(TARGET, ignore_errors=True)
        print(f"removed {TARGET}")
        return 0
    files = vendor()
    print(f"copied {len(files)} files of the engine into {TARGET}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
