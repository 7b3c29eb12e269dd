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

A target may have settings and files of its own (mailprov.config: `targets.NAME.general`,
`.include`): every target's view of the files is considered. An entry moves only when it
qualifies for every target that reads it (a shared user whose login goes to
smtp.office365.com for one client and to a relay for another is reported, not moved),
and the check is made for every target.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import msgspec

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

Key = tuple[str, str]
"""An entry or a shared section by where it is written: (file, dotted path)."""


class Moved(msgspec.Struct, frozen=True):
    """A user (or a selection's users) that moves, its account, and where the edit is."""

    who: str
    email: str
    file: str
    where: str  # the entry or section edited: `users.COMPTA`, `profiles.staff`...
    note: str = ""  # e.g. the From address that changes


class Skipped(msgspec.Struct, frozen=True):
    """A user that qualifies but is not moved, and why."""

    who: str
    reason: str


class Migration(msgspec.Struct, frozen=True):
    """What `migrate office365` does: the files' texts before and after, who moves and who
    does not."""

    texts: Mapping[str, tuple[str, str]]  # file -> (before, after), changed files only
    moved: tuple[Moved, ...]
    skipped: tuple[Skipped, ...] = ()
    codes: tuple[str, ...] = ()  # the listed users that move
    selections: tuple[str, ...] = ()  # the selections (and all_users) that move
    keys: frozenset[Key] = frozenset()  # every entry that moves, where it is written

    def diff(self) -> str:
        """A unified diff of every file changed (what a reviewer reads)."""
        out: list[str] = []
        for file, (before, after) in self.texts.items():
            out.extend(difflib.unified_diff(before.splitlines(keepends=True),
                                            after.splitlines(keepends=True),
                                            f"a/{file}", f"b/{file}"))
        return "".join(line if line.endswith("\n") else line + "\n" for line in out)


class _Consumer(msgspec.Struct):
    """Something the files give settings to, in one target's view of them: a listed user,
    a selection, all_users."""

    who: str
    code: str | None  # None for a selection or all_users
    user: DesiredUser
    file: str
    path: tuple[PathStep, ...]
    chain: list[Key] = msgspec.field(default_factory=list)  # the layers naming a mode, in order
    decides: Key | None = None  # the layer that decides the mode
    email: str | None = None
    reason: str | None = None  # why it does not move (None: it qualifies; "": not concerned)

    @property
    def key(self) -> Key:
        return (self.file, _dotted(self.path))


def _views(config: Config) -> list[Config]:
    """The shared configuration and each target's own, each once."""
    views = [config]
    for scope in config.scopes.values():
        if all(scope is not view for view in views):
            views.append(scope)
    return views


def migrate_office365(config: Config, patterns: Sequence[str] | None = None) -> Migration:
    """The edits that move the users of `config` (those matching `patterns`, globs over
    user codes; all when None) from SMTP on Exchange Online to Office 365. Pure but for
    reading the files; nothing is written (see api.migrate_office365)."""
    views = _views(config)
    files = sorted({file for view in views for file in view.files})
    texts = {file: read_text(Path(file)) for file in files}
    roots = {file: compose(text, file) for file, text in texts.items()}
    # every consumer in every view, qualified in that view, grouped by where it is written
    by_key: dict[Key, list[_Consumer]] = {}
    for view in views:
        for consumer in _consumers(view, roots):
            _qualify(view, consumer)
            by_key.setdefault(consumer.key, []).append(consumer)
    selected = {key for key, found in by_key.items()
                if patterns is None or (found[0].code is not None
                                        and any(fnmatchcase(found[0].code, p)
                                                for p in patterns))}
    skipped: list[Skipped] = []
    moving: dict[Key, _Consumer] = {}
    for key, found in by_key.items():
        if key not in selected:
            continue
        reasons = {c.reason for c in found}
        if reasons == {""}:
            continue  # does not send through Exchange Online with a password anywhere
        if reasons == {None} and len({(c.email, c.decides) for c in found}) == 1:
            moving[key] = found[0]
            continue
        why = next((r for r in reasons if r), None)
        skipped.append(Skipped(found[0].who, why or _(
            "it sends through smtp.office365.com with a password for some targets only: "
            "move it by hand, or give those targets an entry of their own")))
    edits: dict[str, list[TextEdit]] = {}
    moved: list[Moved] = []
    done: list[_Consumer] = []
    rewritten: set[Key] = set()
    for key, (file, node) in _sections(views, roots).items():
        users = [c for found in by_key.values() for c in found if key in c.chain]
        deciders = [c for c in users if c.decides == key]
        emails = {c.email for c in deciders}
        if deciders and all(c.key in moving for c in users) and len(emails) == 1 \
                and "smtp" in mapping_keys(node):
            email = deciders[0].email
            assert email is not None
            edits.setdefault(file, []).append(replace_key(texts[file], node, "smtp",
                                                          "office365", {"email": email}))
            rewritten.add(key)
            unique = list({c.key: c for c in deciders}.values())
            done.extend(unique)
            moved.append(Moved(_("{n} user(s) of {section}").format(
                n=len(unique), section=key[1]), email, file, key[1], _from_notes(unique)))
    for key, consumer in moving.items():
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
        if consumer.decides == ("", "own"):
            edit = replace_key(text, entry, "smtp", "office365", {"email": email})
        else:
            edit = add_key(text, entry, "office365", {"email": email})
        edits.setdefault(consumer.file, []).append(edit)
        done.append(consumer)
        moved.append(Moved(consumer.who, email, consumer.file, key[1],
                           _from_notes([consumer])))
    changed = {file: (texts[file], apply_edits(texts[file], file_edits))
               for file, file_edits in edits.items()}
    return Migration(changed, tuple(moved), tuple(skipped),
                     tuple(sorted({c.code for c in done if c.code is not None})),
                     tuple(sorted({c.key[1] for c in done if c.code is None})),
                     frozenset(c.key for c in done))


def _dotted(path: Sequence[PathStep]) -> str:
    from mailprov.errors import format_path

    return format_path(tuple(path))


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
        out.append(_Consumer(code, code, user, user.source.file, path,
                             _chain(config, roots, user, own)))
    for selection in config.selections:
        who = (_("all_users") if selection.kind == "all_users"
               else _("selection {patterns}").format(patterns=", ".join(selection.patterns)))
        node = node_at(roots[selection.file], selection.path) if selection.file in roots \
            else None
        own = bool(mapping_keys(node) & set(MODE_KEYS))
        out.append(_Consumer(who, None, selection.user, selection.file, selection.path,
                             _chain(config, roots, selection.user, own)))
    return out


def _sections(views: Sequence[Config], roots: Mapping[str, Any]) -> dict[Key, tuple[str, Any]]:
    """The shared sections that may name a mode: each profile, and `defaults`."""
    found: dict[Key, tuple[str, Any]] = {}
    for view in views:
        for name, profile in view.profiles.items():
            if profile.listed_by == "default" or profile.source.file not in roots:
                continue
            node = node_at(roots[profile.source.file], ("profiles", name))
            if node is not None:
                found[(profile.source.file, _dotted(("profiles", name)))] = (
                    profile.source.file, node)
    for file, root in roots.items():
        node = node_at(root, ("defaults",))
        if node is not None:
            found[(file, "defaults")] = (file, node)
    return found


def _chain(config: Config, roots: Mapping[str, Any], user: DesiredUser, own: bool
           ) -> list[Key]:
    chain: list[Key] = [("", "own")] if own else []
    for name in user.profiles:
        profile = config.profiles.get(name)
        if profile is None or profile.source.file not in roots:
            continue
        if mapping_keys(node_at(roots[profile.source.file], ("profiles", name))) \
                & set(MODE_KEYS):
            chain.append((profile.source.file, _dotted(("profiles", name))))
    if user.mode is not None:
        chain.extend((file, "defaults") for file in config.files
                     if file in roots and mapping_keys(node_at(roots[file], ("defaults",)))
                     & set(MODE_KEYS))
    return chain


def _qualify(config: Config, consumer: _Consumer) -> None:
    """Whether the consumer sends through Exchange Online with a password in this view;
    sets `email` (its login) and `decides`, or `reason` ("" when it does not qualify)."""
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
    """The migrated files must give the entries that move the Office 365 mode with their
    login as account, and every other user (and selection) exactly what it had, for every
    target. Raises EditError otherwise (nothing is written)."""
    wrong: list[str] = []
    names = [None, *before.scopes]
    for name in names:
        old = before if name is None else before.for_target(name)
        new = after if name is None else after.for_target(name)
        for code, user in old.users.items():
            key = (user.source.file, _dotted(("users", code)))
            if not _as_expected(user, new.users.get(code), key in migration.keys):
                wrong.append(code)
        for index, selection in enumerate(old.selections):
            key = (selection.file, _dotted(selection.path))
            if index >= len(new.selections) or not _as_expected(
                    selection.user, new.selections[index].user, key in migration.keys):
                wrong.append(_("selection #{n}").format(n=index + 1))
    if wrong:
        raise EditError(_("mailprov could not move these users without changing others "
                          "({users}): the files are left as they were; edit them by hand "
                          "(docs/office365.md)").format(
                              users=", ".join(list(dict.fromkeys(wrong))[:10])))


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
