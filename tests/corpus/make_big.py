"""Generate the corpus files that are too big, binary or link-shaped to commit.

    python tests/corpus/make_big.py FOLDER

writes them into FOLDER (a copy of this corpus, never this folder itself:
the tests copy the corpus to a temporary folder first). `GENERATED` lists
the case files made here, so the tests know them before they exist.
"""

from __future__ import annotations

import os
import random
import sys
from pathlib import Path

MB = 1024 * 1024

SERVER = "general:\n  smtp:\n    server: smtp.example.com\n    port: 587\n"


def _deep_block_mapping(levels: int) -> str:
    lines = ["  " + " " * i + "a:" for i in range(levels)]
    return "version: 1\nusers:\n" + "\n".join(lines) + "\n  " + " " * levels + "b: 1\n"


def _many_errors(users: int) -> str:
    body = "".join(f"  U{i}:\n    smtp:\n      port: 0\n" for i in range(users))
    return "version: 1\n" + SERVER + "users:\n" + body


TEXT_FILES = {
    # 10,000 levels, three ways; block mappings need one more space per level, so
    # 900 levels (400 KB; libyaml stops at 1000 by itself) instead of 50 MB of spaces
    "deep-flow-sequence-10000.yaml": lambda: "version: 1\nusers: " + "[" * 10_000
    + "]" * 10_000 + "\n",
    "deep-flow-mapping-10000.yaml": lambda: "version: 1\nusers: " + "{a: " * 10_000 + "1"
    + "}" * 10_000 + "\n",
    "deep-block-sequence-10000.yaml": lambda: "version: 1\ninclude:\n  " + "- " * 10_000
    + "x\n",
    "deep-block-mapping-900.yaml": lambda: _deep_block_mapping(900),
    # 10 MB scalars: as a value, as an explicit key, as an implicit key (YAML: <= 1024)
    "big-scalar-10mb.yaml": lambda: "version: 1\ngeneral:\n  smtp:\n    server: "
    + "x" * (10 * MB) + "\n    port: 587\n",
    "big-key-10mb.yaml": lambda: "version: 1\nusers:\n  ? " + "K" * (10 * MB)
    + "\n  : smtp: false\n",
    "big-implicit-key.yaml": lambda: "version: 1\nusers:\n  " + "K" * 2000
    + ":\n    smtp: false\n",
    # more than the 32 MB a file may have
    "big-file-33mb.yaml": lambda: "version: 1\n# " + "x" * (33 * MB) + "\n",
    # thousands of errors in one file, each located
    "many-errors-3000.yaml": lambda: _many_errors(3000),
}

BINARY_FILES = {
    "binary-random.yaml": lambda: random.Random(2026).randbytes(64 * 1024),
    "control-chars-only.yaml": lambda: b"\x1e\x1c\x0b\x0c" * 1024,
    "utf16-bom.yaml": lambda: "version: 1\ngeneral:\n  client: outlook\n".encode("utf-16"),
    "utf16le-no-bom.yaml": lambda: "version: 1\ngeneral:\n  client: outlook\n".encode(
        "utf-16-le"),
    "nul-byte.yaml": lambda: b"version: 1\ndefault_target: prod\x00uction\n",
    "control-char-raw.yaml": lambda: b"version: 1\ndefault_target: \x1b[2Jprod\n",
    "utf8-overlong.yaml": lambda: b"version: 1\ndefault_target: \xc0\xafetc\n",
    "utf8-surrogate.yaml": lambda: b"version: 1\ndefault_target: \xed\xa0\x80\n",
}

# name -> where it points (relative targets are relative to the link's folder)
LINKS = {
    "root-symlink-passwd.yaml": "/etc/passwd",
    "root-symlink-dev-zero.yaml": "/dev/zero",
    "root-symlink-loop.yaml": "root-symlink-loop.yaml",
    "_links/passwd.yaml": "/etc/passwd",
    "_loop/again": ".",
}

GENERATED = tuple(sorted([*TEXT_FILES, *BINARY_FILES,
                          *(name for name in LINKS if "/" not in name)]))


def generate(folder: str | os.PathLike[str]) -> list[str]:
    """Write every generated case (and the helpers they need) into `folder`."""
    root = Path(folder)
    for name, make in TEXT_FILES.items():
        (root / name).write_text(make(), encoding="utf-8", newline="")
    for name, make in BINARY_FILES.items():
        (root / name).write_bytes(make())
    (root / "_loop").mkdir(exist_ok=True)
    (root / "_loop" / "users.yaml").write_text("users:\n  COMPTA:\n    smtp: false\n",
                                               encoding="utf-8")
    (root / "_links").mkdir(exist_ok=True)
    for name, target in LINKS.items():
        link = root / name
        if link.is_symlink():
            link.unlink()
        link.symlink_to(target)
    return list(GENERATED)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: make_big.py FOLDER  (a copy of the corpus, not the corpus itself)")
    made = generate(sys.argv[1])
    print(f"generated {len(made)} corpus files in {sys.argv[1]}")
