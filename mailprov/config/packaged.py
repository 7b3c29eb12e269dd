"""Files shipped inside the package (JSON Schemas), read where the package is.

importlib.resources would do the same for an installed package, but importing it
pulls in tempfile, shutil, zipfile and random: a few milliseconds of every
`mailprov validate`, for files that always sit beside the modules.
"""

from __future__ import annotations

import os

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # mailprov/


def read_text(relative: str) -> str:
    """The text of `relative` (a /-separated path inside the mailprov package)."""
    with open(os.path.join(_ROOT, *relative.split("/")), encoding="utf-8") as handle:
        return handle.read()
