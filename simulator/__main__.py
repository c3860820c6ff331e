"""Command line: ``python -m simulator [REQUEST.json]``.

Reads one JSON request from the file (or standard input when the file is
omitted or ``-``), writes the JSON response on standard output. Exit status:
0 on success, 2 on a request error, 1 on an internal fault; never a traceback.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence

from .contract import dumps, handle_text
from .tariff import CURRENT_VERSION, available_versions

_USAGE = """usage: python -m simulator [--pretty] [REQUEST.json | -]
       python -m simulator --version

Reads a JSON request (file or standard input) and prints the JSON response.
Operations: quote, compare, settle, portfolio. Exit 0 ok, 2 request error."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    if "-h" in args or "--help" in args:
        print(_USAGE)
        return 0
    if "--version" in args:
        print(f"tarif courant {CURRENT_VERSION} ; tarifs disponibles : {', '.join(available_versions())}")
        return 0
    pretty = "--pretty" in args
    paths = [a for a in args if a != "--pretty"]
    if len(paths) > 1 or any(p.startswith("--") for p in paths):
        print(_USAGE, file=sys.stderr)
        return 2
    try:
        if not paths or paths[0] == "-":
            text = sys.stdin.buffer.read()
        else:
            with open(paths[0], "rb") as handle:
                text = handle.read()
    except OSError as exc:
        error = {
            "code": "unreadable_input",
            "message": f"fichier illisible ou introuvable ({exc.errno})",
            "field": "",
        }
        print(dumps({"ok": False, "error": error}))
        return 2
    try:
        response = handle_text(text)
    except Exception as exc:  # the contract promises JSON, never a traceback
        error = {"code": "internal_error", "message": f"erreur interne ({type(exc).__name__})", "field": ""}
        print(dumps({"ok": False, "error": error}))
        return 1
    try:
        print(json.dumps(response, ensure_ascii=False, indent=2) if pretty else dumps(response))
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader went away (``| head``): nothing left to tell it.
        sys.stderr.close()
        return 1
    return 0 if response["ok"] else 2


if __name__ == "__main__":
    sys.exit(main())
