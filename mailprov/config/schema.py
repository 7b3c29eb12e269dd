"""The JSON Schema of mailprov files, and its errors turned into plain messages."""

from __future__ import annotations

import difflib
from functools import cache
from typing import TYPE_CHECKING, Any

import msgspec
from msgspec.structs import replace

from mailprov.config.document import Document
from mailprov.config.forbidden_keys import HOW_PASSWORDS_ARE_SET, looks_like_secret
from mailprov.config.packaged import read_text
from mailprov.config.yamlload import INVALID, iter_paths
from mailprov.errors import SHOWN_CHARS, PathStep, Problem, quoted
from mailprov.i18n import N_, _
from mailprov.model.settings import CLIENT_ALIASES, CLIENTS

if TYPE_CHECKING:
    from mailprov.config.csvusers import CsvUsers

_TYPE_NAMES = {
    "object": N_("a mapping"), "array": N_("a list"), "string": N_("text"),
    "integer": N_("a whole number"), "number": N_("a number"), "boolean": N_("true or false"),
    "null": N_("nothing"),
}


class Finding(msgspec.Struct, frozen=True):
    """One schema problem, before it is placed in its file."""

    message: str
    path: tuple[Any, ...]
    key: bool = False
    """The key at `path` is the problem (unknown, secret-like, not a valid name)."""
    refused: bool = True
    """The value at `path` cannot be used; False when something is missing instead."""
    code: str = ""
    """The family of the problem, for scripts (`schema-type`); by default the validator's."""


class DocumentCheck(msgspec.Struct, frozen=True):
    """What the schema says of one document: its problems, and the places whose value
    cannot be used (path, whether the key itself is wrong), so that the later checks
    can skip those values and still check the rest."""

    problems: list[Problem] = msgspec.field(default_factory=list)
    refused: list[tuple[tuple[PathStep, ...], bool]] = msgspec.field(default_factory=list)


def schema_text() -> str:
    """The schema exactly as shipped (what `mailprov schema` prints)."""
    return read_text("schemas/mailprov.schema.json")


@cache
def schema() -> dict[str, Any]:
    # msgspec's decoder is loaded already (the model's types); the json module is not
    data: dict[str, Any] = msgspec.json.decode(schema_text())
    return data


def mapping_schema_text() -> str:
    """The schema of mapping files exactly as shipped (`mailprov schema --mapping`)."""
    return read_text("schemas/mapping.schema.json")


@cache
def mapping_schema() -> dict[str, Any]:
    data: dict[str, Any] = msgspec.json.decode(mapping_schema_text())
    return data


def describe(value: Any) -> str:
    """A short, safe rendering of a value for an error message: text is quoted (as repr
    quotes it, so spaces at either end and control characters show) and clipped."""
    if value is None:
        return _("nothing (null)")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return _("a mapping")
    if isinstance(value, list):
        return _("a list")
    if isinstance(value, str):
        return quoted(value, SHOWN_CHARS)
    return str(value)


def _suggest(word: str, choices: list[str]) -> str:
    if len(word) > 2 * max(map(len, choices), default=0) + 8:
        return ""  # no typo is that long, and difflib takes seconds on a 10 MB value
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    if not close:
        close = [c for c in choices if c.lower() == word.lower()]
    return _("; did you mean {choice}?").format(choice=quoted(close[0])) if close else ""


def _message(error: Any) -> Finding | None:
    """The finding of one jsonschema error, None to drop it; its code is the validator's
    family unless the finding names a more precise one."""
    found = _finding(error)
    if found is None or found.code:
        return found
    return replace(found, code=_CODES.get(error.validator, "schema"))


_CODES = {
    "required": "schema-required", "minProperties": "schema-required", "type": "schema-type",
    "enum": "schema-enum", "const": "schema-enum", "minimum": "schema-range",
    "maximum": "schema-range", "minLength": "schema-length", "maxLength": "schema-length",
    "pattern": "schema-format",
}
"""The code of a schema problem, by JSON Schema validator (docs/configuration.md)."""


def _finding(error: Any) -> Finding | None:
    path = tuple(error.absolute_path)
    kind = error.validator
    value = error.instance
    rule = error.validator_value
    if kind == "additionalProperties":
        return None  # handled key by key in _unknown_keys
    if kind == "required":
        missing = [k for k in rule if isinstance(value, dict) and k not in value]
        return Finding(_("missing required key {key}").format(
            key=quoted(missing[0] if missing else rule[0])), path, refused=False)
    if kind == "type":
        expected = rule if isinstance(rule, list) else [rule]
        # `null` where a user's setting may be stored empty: not worth advertising
        expected = [t for t in expected if t != "null"] or expected
        names = _(" or ").join(_(_TYPE_NAMES[t]) if t in _TYPE_NAMES else str(t)
                               for t in expected)
        hint = ""
        if value is None and "object" in expected:  # a key left with nothing under it
            hint = (_("; write `{}` for an empty section, or remove the line") if len(path) == 1
                    else _("; write its settings under it, or remove the line"))
        return Finding(_("expected {names}, got {value}").format(names=names,
                                                                 value=describe(value)) + hint,
                       path)
    if kind == "enum":
        if any(o in CLIENT_ALIASES for o in rule):
            return Finding(_client_message(value), path)
        options = ", ".join(str(o) for o in rule)
        hint = _suggest(str(value), [str(o) for o in rule]) if isinstance(value, str) else ""
        return Finding(_("{value} is not one of: {options}").format(
            value=describe(value), options=options) + hint, path)
    if kind == "const":
        if path and path[-1] == "smtp":
            return Finding(_("`smtp: true` is not allowed: give the user's SMTP settings, or "
                             "`smtp: false` to remove the override"), path, code="schema-type")
        import json

        return Finding(_("must be {rule}, got {value}").format(rule=json.dumps(rule),
                                                               value=describe(value)), path)
    if kind == "minProperties":
        return Finding(_("empty entry: give it an `smtp` section or a `profile`"), path)
    if kind in ("minimum", "maximum"):
        if path and path[-1] == "port":
            return Finding(_("port {value} is out of range: use 1 to 65535").format(value=value),
                           path)
        text = (_("must be at least {rule}, got {value}") if kind == "minimum"
                else _("must be at most {rule}, got {value}"))
        return Finding(text.format(rule=rule, value=describe(value)), path)
    if kind == "minLength":
        if rule <= 1:
            return Finding(_("must not be empty"), path)
        return Finding(_("{value} is too short ({count} characters, at least {rule})").format(
            value=describe(value), count=len(value), rule=rule), path)
    if kind == "maxLength":
        return Finding(_too_long(value, rule), path)
    if kind == "pattern":
        if path and path[-1] == "server":
            if not value:
                return None  # reported by minLength
            return Finding(_("{value} is not a host name: no spaces allowed").format(
                value=describe(value)), path)
        if len(path) >= 2 and path[0] in ("users", "targets", "profiles", "vars") \
                and not isinstance(value, dict):
            return _name_message(path, value)
        return Finding(_("{value} does not match the pattern {rule}").format(
            value=describe(value), rule=rule), path)
    if kind == "propertyNames":
        return None
    return Finding(error.message if len(error.message) < 200 else error.message[:197] + "...",
                   path)


def _client_message(value: Any) -> str:
    """A mail client mailprov does not know: the canonical clients, as before the French
    aliases existed, then (for a word close to none of them) the aliases too."""
    text = _("{value} is not one of: {options}").format(value=describe(value),
                                                        options=", ".join(CLIENTS))
    if not isinstance(value, str):
        return text
    hint = _suggest(value, list(CLIENTS))
    if hint:
        return text + hint
    aliases = ", ".join(_("{alias} (= {client})").format(alias=alias, client=client)
                        for alias, client in CLIENT_ALIASES.items())
    return (text + _("; French aliases: {aliases}").format(aliases=aliases)
            + _suggest(value, list(CLIENT_ALIASES)))


def _too_long(value: str, rule: int) -> str:
    return _("{value} is too long ({count} characters, at most {rule})").format(
        value=describe(value), count=len(value), rule=rule)


NAME = "schema-name"
"""The code of a user code, profile, target or variable name that is not allowed."""


def _name_message(path: tuple[Any, ...], name: str) -> Finding:
    """A user code, profile, target or variable name the schema refuses (code NAME)."""
    if path[0] == "profiles":
        return Finding(_("profile name {name} is not allowed: use letters, digits, '_', '.' or "
                         "'-', starting with a letter or digit").format(name=describe(name)),
                       path, key=True, code=NAME)
    if "vars" in path[:-1]:
        return Finding(_("variable name {name} is not allowed: use letters, digits and '_', "
                         "starting with a letter (templates read it as vars.NAME)").format(
                             name=describe(name)), path, key=True, code=NAME)
    if path[0] == "users":
        return Finding(_("user code {code} contains control characters: remove them").format(
            code=describe(name)), path, key=True, code=NAME)
    return Finding(_("target name {name} is not allowed: use letters, digits, '_', '.' or '-' "
                     "(at most 64, starting with a letter or digit)").format(
                         name=describe(name)), path, key=True, code=NAME)


def _property_name_errors(error: Any) -> list[Finding]:
    """propertyNames errors carry the offending key as instance, not in the path."""
    out = []
    parent = tuple(error.absolute_path)
    for sub in error.context or [error]:
        key = sub.instance
        if not isinstance(key, str):
            continue
        path = (*parent, key)
        if sub.validator == "pattern" and key:  # an empty key is reported by minLength
            out.append(_name_message(path, key))
        elif sub.validator == "maxLength":
            out.append(Finding(_too_long(key, sub.validator_value), path, key=True,
                               code="schema-length"))
        elif sub.validator == "minLength":
            out.append(Finding(_("must not be empty"), path, key=True, code="schema-length"))
    return out


def _unknown_keys(root: dict[str, Any], data: Any, node_schema: dict[str, Any],
                  path: tuple[Any, ...], out: list[Finding]) -> None:
    """Walk data beside the schema and report unknown keys with suggestions."""
    node_schema = _resolve(root, node_schema)
    if not isinstance(data, dict):
        return
    if "else" in node_schema and isinstance(data, dict):
        node_schema = _resolve(root, node_schema["else"])
    props = node_schema.get("properties")
    extra = node_schema.get("additionalProperties")
    for key, value in data.items():
        if not isinstance(key, str):
            continue
        if props is not None and key in props:
            _unknown_keys(root, value, props[key], (*path, key), out)
        elif isinstance(extra, dict):
            _unknown_keys(root, value, extra, (*path, key), out)
        elif extra is False and not (looks_like_secret(key) and not _is_name((*path, key))):
            choices = sorted(props or {})
            hint = _suggest(key, choices)
            shown = quoted(key, SHOWN_CHARS)
            if path == ("policy",):
                message = (_("unknown policy rule {key}").format(key=shown) + hint if hint
                           else _("unknown policy rule {key} (rules: {allowed})").format(
                               key=shown, allowed=", ".join(choices)))
            else:
                message = (_("unknown key {key}").format(key=shown) + hint if hint else
                           _("unknown key {key} (allowed: {allowed})").format(
                               key=shown, allowed=", ".join(choices)))
            out.append(Finding(message, (*path, key), key=True, code="schema-unknown-key"))


def _resolve(root: dict[str, Any], node_schema: dict[str, Any]) -> dict[str, Any]:
    ref = node_schema.get("$ref")
    if ref and ref.startswith("#/"):
        from mailprov.config.fastschema import resolve_pointer

        resolved: dict[str, Any] = resolve_pointer(root, ref)
        return resolved
    return node_schema


@cache
def _fast_check() -> Any:
    from mailprov.config.fastschema import compile_schema

    return compile_schema(schema())


def document_problems(doc: Document) -> list[Problem]:
    """Secret-like keys and schema violations of one document (see check_document)."""
    return check_document(doc).problems


def check_document(doc: Document) -> DocumentCheck:
    """Secret-like keys and schema violations of one document, and the values they refuse.

    Valid documents, the common case, pass the compiled check and skip
    jsonschema; an invalid one gets every error explained. Values the YAML
    loader refused (INVALID) are left to its own messages.
    """
    # A document that passes the compiled check needs no secret-key scan: every object
    # of the schema refuses unknown keys (`additionalProperties: false`) except the
    # maps keyed by names (users, targets), and no declared key looks like a secret,
    # so a secret-like key can only be in an invalid document. Relied on here, and
    # checked by tests/test_fast_paths.py::test_the_schema_refuses_every_secret_key.
    # `vars` is the one map keyed by free names that is not exempt from the secret rule
    # (a variable must never hold a password): its keys are scanned here, cheaply.
    if _fast_check()(doc.data) and not _secret_vars(doc.data.get("vars")) \
            and not _secret_target_vars(doc.data.get("targets")):
        return DocumentCheck()
    return _placed(doc, _secret_findings(doc) + _schema_findings(doc, "config"))


def _is_name(path: tuple[Any, ...]) -> bool:
    """User codes, target and profile names are free text, not keys that could hold a
    secret."""
    return len(path) == 2 and path[0] in ("users", "targets", "profiles")


def _secret_vars(data: Any) -> bool:
    """Whether a variable name at any depth of `vars` looks like a secret."""
    if not isinstance(data, dict):
        return False
    return any((isinstance(key, str) and looks_like_secret(key)) or _secret_vars(value)
               for key, value in data.items())


def _secret_target_vars(targets: Any) -> bool:
    """Whether a target's own `vars` hold a variable name that looks like a secret."""
    return isinstance(targets, dict) and any(
        isinstance(spec, dict) and _secret_vars(spec.get("vars")) for spec in targets.values())


def _secret_findings(doc: Document) -> list[Finding]:
    return [Finding(_("{key} looks like a secret: ").format(key=quoted(path[-1], SHOWN_CHARS))
                    + _(HOW_PASSWORDS_ARE_SET), path, key=True, code="secret-key")
            for path, _value in iter_paths(doc.data)
            if path and isinstance(path[-1], str) and not _is_name(path)
            and looks_like_secret(path[-1])]


def secret_problems(doc: Document) -> list[Problem]:
    """Secret-like keys anywhere in the document (user codes and target names excepted)."""
    return _placed(doc, _secret_findings(doc)).problems


@cache
def _validator(which: str) -> Any:
    from jsonschema import Draft202012Validator

    return Draft202012Validator(schema() if which == "config" else mapping_schema())


def schema_problems(doc: Document, which: str = "config") -> list[Problem]:
    """Every schema violation in one document, each with its place.

    `which` is `config` (mailprov files) or `mapping` (mapping files): both are
    explained with the same messages.
    """
    return _placed(doc, _schema_findings(doc, which)).problems


def _schema_findings(doc: Document, which: str) -> list[Finding]:
    root = schema() if which == "config" else mapping_schema()
    found: list[Finding] = []
    for error in _validator(which).iter_errors(doc.data):
        if error.validator == "propertyNames" or "propertyNames" in error.relative_schema_path:
            found.extend(_property_name_errors(error))
            continue
        if error.instance is INVALID:
            continue  # the YAML loader said why
        error_path = tuple(error.absolute_path)
        if any(isinstance(p, str) and looks_like_secret(p) and not _is_name(error_path[:i + 1])
               for i, p in enumerate(error_path)):
            continue
        finding = _message(error)
        if finding is not None:
            found.append(finding)
    _unknown_keys(root, doc.data, root, (), found)
    return found


def _placed(doc: Document, found: list[Finding]) -> DocumentCheck:
    """Findings as problems at their place, each once, and what they refuse."""
    seen = set()
    check = DocumentCheck()
    for finding in found:
        if (finding.message, finding.path) in seen:
            continue
        seen.add((finding.message, finding.path))
        check.problems.append(doc.problem(finding.path, finding.message, key=finding.key,
                                          code=finding.code))
        if finding.refused:
            check.refused.append((finding.path, finding.key))
    return check


def check_csv_entries(users: CsvUsers
                      ) -> tuple[list[Problem], list[tuple[tuple[PathStep, ...], bool]]]:
    """The schema's verdict on the rows of a CSV user list, each problem at its cell, and
    the values it refuses (paths under `users.CODE`), exactly as for YAML users."""
    data = {"users": {user.code: user.entry for user in users.users}}
    if not users.users or _fast_check()(data):
        return [], []
    positions = {user.code: user.position for user in users.users}
    problems: list[Problem] = []
    drops: list[tuple[tuple[PathStep, ...], bool]] = []
    seen = set()
    for finding in _schema_findings(Document("", "", data, False), "config"):
        position = positions.get(finding.path[1]) if len(finding.path) >= 2 else None
        if position is None or (finding.message, finding.path) in seen:
            continue
        seen.add((finding.message, finding.path))
        problems.append(position.problem(finding.path, finding.message, code=finding.code))
        if finding.refused:
            drops.append((finding.path, finding.key))
    return problems, drops


_SECTIONS = ("userSmtp", "office365")
"""The schema definitions of a user's sections: `smtp`, and the `office365` mode."""


@cache
def _field_checks() -> dict[str, Any]:
    from mailprov.config.fastschema import SchemaCompiler

    root = schema()
    compiler = SchemaCompiler(root)
    return {name: compiler.compile(rule) for section in _SECTIONS
            for name, rule in root["$defs"][section]["properties"].items()}


@cache
def _field_validator(name: str) -> Any:
    from jsonschema import Draft202012Validator

    defs = schema()["$defs"]
    section = next(s for s in _SECTIONS if name in defs[s]["properties"])
    return Draft202012Validator({"$defs": defs, "$ref": f"#/$defs/{section}"})


def field_messages(name: str, value: Any) -> list[str]:
    """What the schema says of one value of a user's `smtp` section (`from`, `server`...)
    or `office365` mode (`email`), in the words it uses for a file: how a value rendered
    from a template is checked."""
    if _field_checks()[name](value):
        return []
    return [finding.message for error in _field_validator(name).iter_errors({name: value})
            if (finding := _message(error)) is not None]


def mapping_validator() -> Any:
    """The JSON Schema validator of mapping files (also for the mapping a plan carries)."""
    return _validator("mapping")
