"""`mailprov migrate office365`: move every user who sends through Exchange Online with a
password to Office 365 – Modern Authentication, by editing the files in place.

Microsoft turns SMTP AUTH with a password off by default for existing Exchange Online
tenants at the end of December 2026. A user qualifies when the files give them an SMTP
section whose server (their own, a preset's, or general.smtp's) is
smtp.office365.com and which has a login; their Office 365 account is that login (a
template stays a template, rendered for each user at plan time).

The edit is made where the user's mode is decided, so that the files stay as they
were written: a user's own `smtp:` becomes `office365: {email: ...}`; a profile (or
`defaults`) every one of whose users moves is rewritten once; otherwise each user
that moves gets its own `office365:` key, which wins over the profile's `smtp:`.
Only the lines that change are touched (ruamel's round-trip composer finds them);
comments elsewhere stay. The result is checked before anything is written: the
files load, every user that moves now has the Office 365 mode with that account,
and every other user resolves exactly as before. Users of a CSV list whose own row
gives the SMTP section are reported, not edited.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from mailprov.config.edit import (
    EditError,
    TextEdit,
    add_key,
    apply_edits,
    compose,
    mapping_keys,
    node_at,
    read_text,
    replace_key,
)
from mailprov.config.semantic import is_address, is_office365_host
from mailprov.config.templates import is_template
from mailprov.errors import PathStep
from mailprov.i18n import _
from mailprov.model import Config, DesiredUser

MODE_KEYS = ("smtp", "office365")


@dataclass(frozen=True)
class Moved:
    """A user (or a selection's users) that moves, its account, and where the edit is."""

    who: str
    email: str
    file: str
    where: str  # the entry or section edited: `users.COMPTA`, `profiles.staff`...
    note: str = ""  # e.g. the From address that changes


@dataclass(frozen=True)
class Skipped:
    """A user that qualifies but is not moved, and why."""

    who: str
    reason: str


@dataclass(frozen=True)
class Migration:
    """What `migrate office365` does: the files' texts before and after, who moves and who
    does not."""

    texts: Mapping[str, tuple[str, str]]  # file -> (before, after), changed files only
    moved: tuple[Moved, ...]
    skipped: tuple[Skipped, ...] = ()
    codes: tuple[str, ...] = ()  # the listed users that move
    selections: tuple[int, ...] = ()  # the selections (and all_users) that move, by index

    def diff(self) -> str:
        """A unified diff of every file changed (what a reviewer reads)."""
        out: list[str] = []
        for file, (before, after) in self.texts.items():
            out.extend(difflib.unified_diff(before.splitlines(keepends=True),
                                            after.splitlines(keepends=True),
                                            f"a/{file}", f"b/{file}"))
        return "".join(line if line.endswith("\n") else line + "\n" for line in out)


@dataclass
class _Consumer:
    """Something the files give settings to: a listed user, a selection, all_users."""

    who: str
    code: str | None  # None for a selection or all_users
    index: int | None  # the selection's index in Config.selections
    user: DesiredUser
    file: str
    path: tuple[PathStep, ...]
    chain: list[str] = field(default_factory=list)  # layers with a mode key: own, profile:X
    decides: str | None = None  # the layer that decides the mode
    email: str | None = None
    reason: str | None = None  # why it does not move (None: it qualifies)


def migrate_office365(config: Config, patterns: Sequence[str] | None = None) -> Migration:
    """The edits that move the users of `config` (those matching `patterns`, globs over
    user codes; all when None) from SMTP on Exchange Online to Office 365. Pure but for
    reading the files; nothing is written (see write_migration)."""
    texts = {file: read_text(Path(file)) for file in config.files}
    roots = {file: compose(text, file) for file, text in texts.items()}
    consumers = _consumers(config, roots)
    selected = [c for c in consumers
                if patterns is None or (c.code is not None
                                        and any(fnmatchcase(c.code, p) for p in patterns))]
    for consumer in consumers:
        _qualify(config, consumer)
    moving = {id(c) for c in selected if c.reason is None}
    edits: dict[str, list[TextEdit]] = {}
    moved: list[Moved] = []
    skipped: list[Skipped] = []
    sections = _sections(config, roots)
    rewritten: set[str] = set()
    done: list[_Consumer] = []
    for name, (file, node) in sections.items():
        users = [c for c in consumers if name in c.chain]
        deciders = [c for c in users if c.decides == name]
        emails = {c.email for c in deciders}
        if deciders and all(id(c) in moving for c in users) and len(emails) == 1 \
                and "smtp" in mapping_keys(node):
            email = deciders[0].email
            assert email is not None
            edits.setdefault(file, []).append(replace_key(texts[file], node, "smtp",
                                                          "office365", {"email": email}))
            rewritten.add(name)
            done.extend(deciders)
            moved.append(Moved(_("{n} user(s) of {section}").format(
                n=len(deciders), section=_section_label(name)), email, file,
                _section_label(name), _from_notes(deciders)))
    for consumer in selected:
        if consumer.reason is not None:
            if consumer.reason:
                skipped.append(Skipped(consumer.who, consumer.reason))
            continue
        if consumer.decides in rewritten:
            continue
        email = consumer.email
        assert email is not None
        entry = node_at(roots[consumer.file], consumer.path) if consumer.file in roots \
            else None
        if entry is None:  # a CSV row
            skipped.append(Skipped(consumer.who, _(
                "listed in {file}, which mailprov does not edit: clear its smtp cells and "
                "set office365.email to {email}").format(file=consumer.file, email=email)))
            continue
        text = texts[consumer.file]
        if consumer.decides == "own":
            edit = replace_key(text, entry, "smtp", "office365", {"email": email})
        else:
            edit = add_key(text, entry, "office365", {"email": email})
        edits.setdefault(consumer.file, []).append(edit)
        done.append(consumer)
        moved.append(Moved(consumer.who, email, consumer.file, _dotted(consumer.path),
                           _from_notes([consumer])))
    changed = {file: (texts[file], apply_edits(texts[file], file_edits))
               for file, file_edits in edits.items()}
    return Migration(changed, tuple(moved), tuple(skipped),
                     tuple(sorted(c.code for c in done if c.code is not None)),
                     tuple(sorted(c.index for c in done if c.index is not None)))


def _dotted(path: Sequence[PathStep]) -> str:
    from mailprov.errors import format_path

    return format_path(tuple(path))


def _section_label(name: str) -> str:
    return "defaults" if name == "defaults" else f"profiles.{name.split(':', 1)[1]}"


def _from_notes(consumers: Sequence[_Consumer]) -> str:
    """What changes beyond the mode: a From address other than the account."""
    notes = []
    for consumer in consumers:
        override = consumer.user.override
        sent_from = None if override is None else override.from_address
        if sent_from is not None and sent_from != consumer.email:
            notes.append(_("{who} sent From {old}; maestro* now sends From the Office 365 "
                           "account").format(who=consumer.who, old=sent_from))
    return "; ".join(notes)


def _consumers(config: Config, roots: Mapping[str, Any]) -> list[_Consumer]:
    """Every listed user, then the selections and all_users, with the layers that name a
    mode in the order they count."""
    out = []
    for code, user in config.users.items():
        path: tuple[PathStep, ...] = ("users", code)
        if user.listed_by == "csv":
            own = any(s.kind == "csv" for s in user.sources.values())
        else:
            own = bool(mapping_keys(node_at(roots[user.source.file], path))
                       & set(MODE_KEYS)) if user.source.file in roots else False
        out.append(_Consumer(code, code, None, user, user.source.file, path,
                             _chain(config, roots, user, own)))
    for index, selection in enumerate(config.selections):
        who = (_("all_users") if selection.kind == "all_users"
               else _("selection {patterns}").format(patterns=", ".join(selection.patterns)))
        node = node_at(roots[selection.file], selection.path) if selection.file in roots \
            else None
        own = bool(mapping_keys(node) & set(MODE_KEYS))
        out.append(_Consumer(who, None, index, selection.user, selection.file, selection.path,
                             _chain(config, roots, selection.user, own)))
    return out


def _sections(config: Config, roots: Mapping[str, Any]) -> dict[str, tuple[str, Any]]:
    """The shared sections that may name a mode: each profile, and `defaults`."""
    found: dict[str, tuple[str, Any]] = {}
    for name, profile in config.profiles.items():
        if profile.listed_by == "default":
            continue
        node = node_at(roots.get(profile.source.file), ("profiles", name)) \
            if profile.source.file in roots else None
        if node is not None:
            found[f"profile:{name}"] = (profile.source.file, node)
    for file, root in roots.items():
        node = node_at(root, ("defaults",))
        if node is not None:
            found["defaults"] = (file, node)
    return found


def _chain(config: Config, roots: Mapping[str, Any], user: DesiredUser, own: bool
           ) -> list[str]:
    chain = ["own"] if own else []
    for name in user.profiles:
        profile = config.profiles.get(name)
        if profile is None or profile.source.file not in roots:
            continue
        if mapping_keys(node_at(roots[profile.source.file], ("profiles", name))) \
                & set(MODE_KEYS):
            chain.append(f"profile:{name}")
    if any(mapping_keys(node_at(root, ("defaults",))) & set(MODE_KEYS)
           for root in roots.values()) and user.mode is not None:
        chain.append("defaults")
    return chain


def _qualify(config: Config, consumer: _Consumer) -> None:
    """Whether the consumer sends through Exchange Online with a password; sets `email`
    (its login) and `decides`, or `reason` ("" when it simply does not qualify)."""
    user = consumer.user
    consumer.decides = consumer.chain[0] if consumer.chain else None
    override = user.override
    if user.office365 is not None or override is None:
        consumer.reason = ""
        return
    server = override.server if override.server is not None else config.general.smtp.server
    if server is None or is_template(server) or not is_office365_host(server):
        consumer.reason = ""
        return
    if override.username is None:
        consumer.reason = ""
        return
    source = user.sources.get("username")
    email = source.template if source is not None and source.template else override.username
    if not is_template(email) and not is_address(email):
        consumer.reason = _("its login {login} is not an e-mail address: set "
                            "`office365: {{email: ...}}` by hand").format(login=email)
        return
    consumer.email = email


def check_migration(before: Config, after: Config, migration: Migration) -> None:
    """The migrated files must give the users that move the Office 365 mode with their
    login as account, and every other user (and selection) exactly what they had.
    Raises EditError otherwise (nothing is written)."""
    wrong = [code for code, old in before.users.items()
             if not _as_expected(old, after.users.get(code), code in migration.codes)]
    wrong += [_("selection #{n}").format(n=index + 1)
              for index, old in enumerate(before.selections)
              if index >= len(after.selections) or not _as_expected(
                  old.user, after.selections[index].user, index in migration.selections)]
    if wrong:
        raise EditError(_("mailprov could not move these users without changing others "
                          "({users}): the files are left as they were; edit them by hand "
                          "(docs/office365.md)").format(users=", ".join(wrong[:10])))


def _text_of(user: DesiredUser, name: str, value: str | None) -> str | None:
    """A value as written: its template when it has one."""
    source = user.sources.get(name)
    return source.template if source is not None and source.template else value


def _as_expected(old: DesiredUser, new: DesiredUser | None, moves: bool) -> bool:
    if new is None:
        return False
    if not moves:
        return (old.override, old.office365) == (new.override, new.office365)
    if new.office365 is None or old.override is None:
        return False
    return _text_of(new, "email", new.office365.email) == \
        _text_of(old, "username", old.override.username)
