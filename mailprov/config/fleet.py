"""Which targets a fleet command works on: `-t` names and globs, `--all-targets`, and
`--shard K/N`, a stable slice for CI matrix jobs.

A shard is decided by a hash of the target's name alone, never by its position in a
list: the same target is in the same shard whatever order the files or the command
line give, and adding a target moves no other. Reads no database.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from fnmatch import fnmatchcase

import msgspec

from mailprov.errors import TargetError, quoted
from mailprov.i18n import _

_SHARD = re.compile(r"\s*([0-9]{1,6})\s*/\s*([0-9]{1,6})\s*\Z")
_MAGIC = re.compile(r"[*?\[]")


class Shard(msgspec.Struct, frozen=True):
    """Shard `index` of `count` (1-based, as CI matrices number their jobs)."""

    index: int
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def takes(self, name: str) -> bool:
        """Whether the target `name` belongs to this shard."""
        return shard_of(name, self.count) == self.index


def parse_shard(text: str) -> Shard:
    """`K/N` with 1 <= K <= N; a TargetError saying how to write it otherwise."""
    found = _SHARD.match(text)
    if found:
        index, count = int(found.group(1)), int(found.group(2))
        if 1 <= index <= count:
            return Shard(index, count)
    raise TargetError(_("--shard {text}: write K/N, the shard K of N (1 <= K <= N), as a CI "
                        "matrix numbers its jobs: --shard 1/3, --shard 2/3, --shard 3/3").format(
                            text=quoted(text)[:40]))


def shard_of(name: str, count: int) -> int:
    """The shard (1..count) of a target name: SHA-256 of the name, so that it is the same
    on every machine and Python version (the built-in hash() is salted per process)."""
    digest = hashlib.sha256(name.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % count + 1


def is_pattern(text: str) -> bool:
    """Whether a `-t` value is a glob over target names (`client-*`, `site-?`, `[ab]*`)."""
    return bool(_MAGIC.search(text))


def select_names(defined: Sequence[str], patterns: Sequence[str], *,
                 all_targets: bool = False, shard: Shard | None = None,
                 default: str | None = None) -> list[str]:
    """The target names a command works on, in order, each once.

    `patterns` (from `-t`, names or globs) in the order given, each glob's matches in
    the order the files define them; `all_targets` takes every defined target (in that
    order); with neither, the `default` target, else the only one. `shard` then keeps
    the names it takes. A name or a glob that matches no target is a TargetError.
    """
    known = ", ".join(sorted(defined)) or _("none defined")
    chosen: list[str] = []
    if all_targets:
        chosen.extend(defined)
    for pattern in patterns:
        if is_pattern(pattern):
            matches = [name for name in defined if fnmatchcase(name, pattern)]
            if not matches:
                raise TargetError(_("no target matches {pattern} (defined: {known}): check the "
                                    "pattern; it is matched against the names under `targets`, "
                                    "case-sensitively").format(pattern=quoted(pattern),
                                                               known=known))
            chosen.extend(matches)
        elif pattern in defined:
            chosen.append(pattern)
        else:
            raise TargetError(_("target '{name}' is not defined in the configuration (defined: "
                                "{known}): add it under `targets`").format(name=pattern,
                                                                            known=known))
    if not patterns and not all_targets:
        if default is not None:
            chosen.append(default)
        elif len(defined) == 1:
            chosen.extend(defined)
        else:
            raise TargetError(_("no target given: use -t NAME (repeatable, globs allowed), "
                                "--all-targets, or set `default_target`"))
    unique = list(dict.fromkeys(chosen))
    if not unique:
        raise TargetError(_("no target is defined under `targets`: define the databases there "
                            "to work on several"))
    if shard is not None:
        unique = [name for name in unique if shard.takes(name)]
    return unique


def shards(names: Iterable[str], count: int) -> dict[int, list[str]]:
    """Every shard's names (1..count), for documentation and checks."""
    table: dict[int, list[str]] = {index: [] for index in range(1, count + 1)}
    for name in names:
        table[shard_of(name, count)].append(name)
    return table
