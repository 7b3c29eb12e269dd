"""Saved plans: written with an optional signature, read back as untrusted input.

A plan file may come from a CI artifact or a colleague's laptop: before it is used,
its shape and every value it would write pass the same rules as a configuration
(ports 1-65535, host names, e-mail addresses, client names, field names, actions),
and a signature made with the plan key proves it was not edited after review
(docs/plan-format.md, SECURITY.md).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mailprov.errors import PlanFileError, TamperedPlanError
from mailprov.i18n import N_, _, stored_from_json
from mailprov.keystore import ENV_PLAN_KEY, PLAN_KEY_NAME
from mailprov.model import (
    CLIENTS,
    EDITIONS,
    GENERAL_SMTP_FIELDS,
    MODE,
    OFFICE365,
    OFFICE365_FIELDS,
    OVERRIDE,
    OVERRIDE_FIELDS,
)
from mailprov.model.mapping import is_codec_name
from mailprov.model.policy import Policy, PolicyViolation, policy_from_json, violation_from_json
from mailprov.model.versions import VERSIONS
from mailprov.plan.format import (
    GENERAL,
    SUPPORTED_MAJOR,
    USER_PREFIX,
    Change,
    Conflict,
    PasswordNote,
    Plan,
    PlanWarning,
    RollbackOf,
    SafetyReport,
    SelectionReport,
)

MAX_PLAN_BYTES = 64 * 1024 * 1024
SIGNATURE_PREFIX = "hmac-sha256:"
HOW_TO_SAVE = N_("Save plans with `mailprov plan --out FILE`.")
_GENERAL_FIELDS = ("client", *(f"smtp.{f}" for f in GENERAL_SMTP_FIELDS))
_ACTIONS = ("create", "update", "delete")
_USER_FIELDS = (MODE, *OVERRIDE_FIELDS, *OFFICE365_FIELDS)


# --- the plan key -----------------------------------------------------------------------


def plan_key() -> bytes | None:
    """The key that signs plans: MAILPROV_PLAN_KEY, else the OS keyring's `plan-key`
    entry (`mailprov key init --plan`); None when neither is set."""
    value = os.environ.get(ENV_PLAN_KEY)
    if value:
        return value.encode()
    from mailprov.keystore import get_secret, keyring_usable

    if not keyring_usable():
        return None
    stored = get_secret(PLAN_KEY_NAME)
    return stored.encode() if stored else None


def _canonical(data: Mapping[str, Any]) -> bytes:
    body = {k: v for k, v in data.items() if k != "signature"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def signature_of(data: Mapping[str, Any], key: bytes) -> str:
    """The HMAC-SHA256 of a plan's JSON (without its signature), keyed by `key`."""
    return SIGNATURE_PREFIX + hmac.new(key, _canonical(data), hashlib.sha256).hexdigest()


# --- saving -------------------------------------------------------------------------------


def plan_text(plan: Plan, key: bytes | None = None) -> str:
    """The saved form of a plan: its JSON, signed when a key is given."""
    data = plan.to_json()
    if key is not None:
        data["signature"] = signature_of(data, key)
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def save_plan(plan: Plan, path: str | os.PathLike[str], key: bytes | None = None) -> None:
    """Write a plan atomically (a partial file never replaces a good one). A plan with
    errors (users the target lacks) cannot be applied, so it is not saved."""
    if plan.errors:
        raise PlanFileError(_(
            "not saving the plan to {path}: it has {count} error(s) (see above); fix them, "
            "then plan again").format(path=os.fspath(path), count=len(plan.errors)))
    if plan.policy_violations:
        from mailprov.plan.policy import policy_error

        raise policy_error(plan.policy_violations, listed=True, done=_(
            "Not saved to {path}.").format(path=os.fspath(path)))
    target = Path(path)
    tmp = target.with_name(f".{target.name}.tmp")
    try:
        tmp.write_text(plan_text(plan, key), encoding="utf-8")
        os.replace(tmp, target)
    except OSError as exc:
        if tmp.parent.is_dir():
            tmp.unlink(missing_ok=True)
        if target.parent.is_dir():
            raise PlanFileError(_("cannot write the plan to {path}: {reason}").format(
                path=os.fspath(path), reason=exc.strerror)) from None
        raise PlanFileError(_("cannot write the plan to {path}: {reason} (its folder does not "
                              "exist: create it first)").format(
                                  path=os.fspath(path), reason=exc.strerror)) from None


# --- reading ------------------------------------------------------------------------------


class SavedPlan:
    """A plan read from a file, with what its signature says."""

    def __init__(self, plan: Plan, source: str, data: Mapping[str, Any]) -> None:
        self.plan = plan
        self.source = source
        self._data = data
        self.signature: str | None = data.get("signature")

    def verify(self, key: bytes | None) -> str:
        """Check the signature against `key`: returns `valid` or `unsigned`, raises
        TamperedPlanError when the plan cannot be trusted as saved."""
        if key is None:
            if self.signature is None:
                return "unsigned"
            raise TamperedPlanError(_(
                "{file} is signed, but no plan key is available to check it: set {env} (CI) "
                "or store the key with `mailprov key import --plan`. Nothing was changed."
            ).format(file=self.source, env=ENV_PLAN_KEY))
        if self.signature is None:
            raise TamperedPlanError(_(
                "{file} is not signed, and this machine has a plan key: only plans saved "
                "with that key are applied here. Plan again with the key set. Nothing was "
                "changed.").format(file=self.source))
        if not hmac.compare_digest(self.signature, signature_of(self._data, key)):
            raise TamperedPlanError(_(
                "{file} was changed after it was saved (its signature does not match), or "
                "was signed with another key. Nothing was changed; plan again.").format(
                    file=self.source))
        return "valid"


def read_bounded(source: str, limit: int, too_large: str) -> bytes:
    """A plan file's bytes, at most `limit` of them (`too_large` is the error beyond);
    PlanFileError names the file when it cannot be read."""
    try:
        with open(source, "rb") as handle:
            raw = handle.read(limit + 1)
    except OSError as exc:
        raise PlanFileError(_("{file}: cannot read the plan file: {reason}").format(
            file=source, reason=exc.strerror)) from None
    if len(raw) > limit:
        raise PlanFileError(too_large)
    return raw


def read_plan(path: str | os.PathLike[str]) -> SavedPlan:
    """Read and check a saved plan. Raises PlanFileError (exit 1) naming the file and
    every change that breaks a rule."""
    source = os.fspath(path)
    raw = read_bounded(source, MAX_PLAN_BYTES, _(
        "{file}: the plan file is larger than {size} MB. {how}").format(
            file=source, size=MAX_PLAN_BYTES // (1024 * 1024), how=_(HOW_TO_SAVE)))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise PlanFileError(_("{file}: cannot read the plan file: not UTF-8 text").format(
            file=source)) from None
    return plan_from_json(text, source)


def plan_from_json(text: str, source: str) -> SavedPlan:
    """Parse and check a plan's JSON text."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PlanFileError(_(
            "{file}:{line}:{column}: not a mailprov plan (invalid JSON: {reason}). {how}"
        ).format(file=source, line=exc.lineno, column=exc.colno, reason=exc.msg,
                 how=_(HOW_TO_SAVE))) from None
    except RecursionError:
        raise PlanFileError(_("{file}: not a mailprov plan (nested too deeply). {how}").format(
            file=source, how=_(HOW_TO_SAVE))) from None
    except ValueError:  # a number of more than 4,300 digits: Python refuses to read it
        raise PlanFileError(_("{file}: not a mailprov plan (a number too long to be one a "
                              "plan holds). {how}").format(file=source, how=_(HOW_TO_SAVE))
                            ) from None
    return plan_from_data(data, source)


def plan_from_data(data: Any, source: str) -> SavedPlan:
    """Check a plan's parsed JSON (one plan of a fleet's file, too)."""
    checker = _Checker()
    plan = checker.plan(data)
    if checker.problems or plan is None:
        lines = "\n".join(f"  {p}" for p in checker.problems[:50])
        more = len(checker.problems) - 50
        tail = "\n  " + _("... and {n} more").format(n=more) if more > 0 else ""
        raise PlanFileError(_("{file}: not a valid mailprov plan; nothing was changed:"
                              ).format(file=source) + f"\n{lines}{tail}")
    return SavedPlan(plan, source, data)


def _shown(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=True)
    return text if len(text) <= 80 else text[:77] + "..."


class _Checker:
    """Collects every problem of a plan's data, naming the change it is in."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self.model_version = 1

    def fail(self, where: str, message: str) -> None:
        self.problems.append(_("{where}: {message}").format(where=where, message=message))

    def plan(self, data: Any) -> Plan | None:
        if not isinstance(data, dict):
            self.fail("plan", _("the top level must be a JSON object"))
            return None
        version = data.get("format_version")
        if not isinstance(version, str) or version.split(".", 1)[0] != str(SUPPORTED_MAJOR):
            self.fail("format_version", _("{version} is not supported by this mailprov (it "
                                          "reads {major}.x)").format(
                                              version=_shown(version), major=SUPPORTED_MAJOR))
            return None
        if version == "1.0":
            self.fail("format_version", _("1.0 plans were made by an older mailprov and do not "
                      "name their database: plan again"))
            return None
        target = self._text(data, "target", 255)
        url = self._text(data, "target_url", 2000)
        edition = data.get("edition")
        if edition not in EDITIONS:
            self.fail("edition", _("{value} is not one of {allowed}").format(
                value=_shown(edition), allowed=", ".join(EDITIONS)))
        if url is not None:
            from mailprov.config.urls import url_has_password

            if url_has_password(url):
                self.fail("target_url", _("holds a password: plans never do"))
        model_version = data.get("model_version", 1)  # plans before format 1.2: version 1
        if not _is_int(model_version) or model_version not in VERSIONS:
            self.fail("model_version", _("{value} is not a reference model version "
                                         "({versions})").format(
                                             value=_shown(model_version),
                                             versions=", ".join(map(str, VERSIONS))))
            model_version = 1
        self.model_version = model_version
        changes_data = data.get("changes")
        if not isinstance(changes_data, list):
            self.fail("changes", _("must be a list"))
            return None
        changes = [c for i, item in enumerate(changes_data)
                   if (c := self.change(i, item, edition)) is not None]
        addresses = [c.address for c in changes]
        if len(set(addresses)) != len(addresses):
            self.fail("changes", _("an address appears twice"))
        managed = data.get("managed_users")
        if managed != "all" and not (isinstance(managed, list)
                                     and all(_is_int(n) for n in managed)):
            self.fail("managed_users", _("must be \"all\" or a list of user numbers"))
        safety = self.safety(data.get("safety"), changes)
        warnings = self.warnings(data.get("warnings", []))
        notes = (None if "password_notes" not in data
                 else tuple(self.password_notes(data["password_notes"])))
        mapping = data.get("mapping")
        if mapping is not None and not isinstance(mapping, dict):
            self.fail("mapping", _("must be an object or null"))
        elif mapping is not None and "password_codec" in mapping \
                and not is_codec_name(mapping["password_codec"]):
            self.fail("mapping.password_codec", _(
                "{value} is not the name of a password codec").format(
                    value=_shown(mapping["password_codec"])))
        elif mapping is not None:
            self.mapping(mapping)
        for key in ("base_digest", "config_digest"):
            self._text(data, key, 200)
        for key in ("database_id", "git_commit"):
            if data.get(key) is not None and not isinstance(data.get(key), str):
                self.fail(key, _("must be text or null"))
        selections = self.selections(data.get("selections"))
        unmanaged = data.get("unmanaged_overrides", 0)
        if not _is_int(unmanaged):
            self.fail("unmanaged_overrides", _("must be a whole number"))
        policies = self.policies(data.get("policies", []))
        saved_violations = self.violations(data.get("policy_violations", []))
        rollback = self.rollback(data.get("rollback_of"), data.get("conflicts", []))
        if self.problems or safety is None or target is None or url is None:
            return None
        violations = _rechecked(saved_violations, policies, changes, safety.existing_overrides)
        return Plan(
            target=target, target_url=url, edition=str(edition), changes=tuple(changes),
            base_digest=str(data["base_digest"]), config_digest=str(data["config_digest"]),
            unmanaged_overrides=int(unmanaged), safety=safety, warnings=tuple(warnings),
            mapping=mapping, database_id=data.get("database_id"),
            managed_users=None if managed == "all" else tuple(managed or ()),
            git_commit=data.get("git_commit"), selections=selections,
            password_notes=notes, policies=policies, policy_violations=violations,
            rollback_of=rollback[0], conflicts=rollback[1], model_version=model_version)

    def policies(self, data: Any) -> tuple[Policy, ...]:
        """The policies the plan was checked with, so that apply checks them again."""
        found = [policy_from_json(item) for item in data] if isinstance(data, list) else [None]
        if not all(found):
            self.fail("policies", _("must be a list of {file, rules} objects with the rules of "
                      "the configuration's `policy:` section"))
            return ()
        return tuple(p for p in found if p is not None)

    def violations(self, data: Any) -> list[PolicyViolation]:
        found = [violation_from_json(item) for item in data] if isinstance(data, list) \
            else [None]
        if not all(found):
            self.fail("policy_violations", _("must be a list of {code, rule, address, field, "
                      "value, message, policy, file, line, column, path} objects"))
            return []
        return [v for v in found if v is not None]

    def rollback(self, data: Any, conflicts: Any
                 ) -> tuple[RollbackOf | None, tuple[Conflict, ...]]:
        """What a rollback plan undoes and its conflicts, as saved (shown again; apply
        records the rollback in the history)."""
        if data is None:
            return None, ()
        if not isinstance(data, dict) or not _is_int(data.get("id")) or data["id"] < 1 \
                or not all(data.get(k) is None or isinstance(data.get(k), str)
                           for k in ("applied_at", "git_commit", "summary")):
            self.fail("rollback_of", _("must be an {id, applied_at, git_commit, summary} object"))
            return None, ()
        redoes = data.get("redoes")
        if redoes is not None and not (isinstance(redoes, dict) and _is_int(redoes.get("id"))
                                       and (redoes.get("git_commit") is None
                                            or isinstance(redoes.get("git_commit"), str))):
            self.fail("rollback_of.redoes", _("must be an {id, git_commit} object"))
            return None, ()
        rollback = RollbackOf(data["id"], data.get("applied_at"), data.get("git_commit"),
                              data.get("summary") or "",
                              None if redoes is None else redoes["id"],
                              None if redoes is None else redoes.get("git_commit"))
        try:
            found = tuple(Conflict(
                str(c["address"]), str(c["code"]),
                stored_from_json(c.get("message_template"), str(c["message"])),
                {str(name): (f["before"], f["after"], f["live"])
                 for name, f in c.get("fields", {}).items()},
                tuple(int(n) for n in c.get("later", ())), bool(c.get("included")))
                for c in conflicts)
        except (KeyError, TypeError, ValueError, AttributeError):
            self.fail("conflicts", _("must be a list of {address, code, message, fields, later, "
                      "included} objects"))
            return rollback, ()
        return rollback, found

    def mapping(self, data: dict[str, Any]) -> None:
        """The mapping a plan was made with names the tables and columns apply writes:
        the rules of a mapping file apply."""
        from mailprov.config.schema import mapping_validator
        from mailprov.model.mapping import mapping_from_data, naming_problems

        errors = sorted(mapping_validator().iter_errors(data), key=lambda e: list(e.path))
        for error in errors[:5]:
            where = ".".join(str(p) for p in error.absolute_path)
            self.fail(f"mapping.{where}" if where else "mapping", error.message[:200])
        if not errors:
            for message in naming_problems(mapping_from_data(data)):
                self.fail("mapping", message)

    def _text(self, data: Mapping[str, Any], key: str, limit: int) -> str | None:
        value = data.get(key)
        if not isinstance(value, str) or not value or len(value) > limit \
                or not value.isprintable():
            self.fail(key, _("must be printable text of 1 to {limit} characters").format(
                limit=limit))
            return None
        return value

    def change(self, index: int, item: Any, edition: Any) -> Change | None:
        where = f"changes[{index}]"
        found_before = len(self.problems)
        if not isinstance(item, dict):
            self.fail(where, _("must be an object"))
            return None
        address, action = item.get("address"), item.get("action")
        if isinstance(address, str):
            where = f"{where} ({_shown(address)})"
        if action not in _ACTIONS:
            self.fail(where, _("unknown action {action} (create, update or delete)").format(
                action=_shown(action)))
            return None
        changed = item.get("changed")
        if not isinstance(changed, list) or not changed \
                or not all(isinstance(n, str) for n in changed):
            self.fail(where, _("`changed` must be a non-empty list of field names"))
            return None
        before, after = item.get("before"), item.get("after")
        if address == GENERAL:
            ok = self.general_change(where, action, changed, before, after)
            number = None
        elif isinstance(address, str) and address.startswith(USER_PREFIX) \
                and 0 < len(address) - len(USER_PREFIX) <= 255 and address.isprintable():
            number = item.get("number")
            if not _is_int(number):
                self.fail(where, _("a user change needs its user `number`"))
            ok = self.user_change(where, action, changed, before, after,
                                  address[len(USER_PREFIX):], edition)
        else:
            self.fail(where, _("unknown address {address} (general or user.CODE)").format(
                address=_shown(address)))
            return None
        if not ok:
            return None
        expected = _changed_fields(address, before, after)
        if len(self.problems) == found_before and list(changed) != list(expected):
            # what show, the history and drift list is `changed`; what apply writes is
            # `after`: a field written but not named would be written unseen
            self.fail(where, _("`changed` must name exactly the fields `before` and `after` "
                               "differ in, in this order: {expected}").format(
                                   expected=", ".join(expected) or _("(none: the change "
                                                                     "changes nothing)")))
            return None
        return Change(address, action, before, after, tuple(changed),
                      follows_general=bool(item.get("follows_general", False)),
                      number=number if _is_int(number) else None,
                      saved_sources=self.sources(where, item.get("sources")))

    def sources(self, where: str, data: Any) -> dict[str, dict[str, Any]] | None:
        """Where each value came from, as saved: shown again, never acted upon; kept only
        when it has the shape mailprov writes (field -> {text or number values})."""
        if data is None:
            return None
        if not isinstance(data, dict) or not all(
                name in _USER_FIELDS and isinstance(info, dict) and all(
                    isinstance(k, str) and isinstance(v, (str, int, bool))
                    for k, v in info.items())
                for name, info in data.items()):
            self.fail(where, _("sources: must map override fields to {source, file, line, "
                      "...} objects"))
            return None
        return {name: dict(info) for name, info in data.items()}

    def selections(self, data: Any) -> tuple[SelectionReport, ...]:
        if data is None:
            return ()
        try:
            return tuple(SelectionReport(str(s["selection"]),
                                         tuple(str(p) for p in s.get("match", ())),
                                         str(s["file"]), int(s["line"]), int(s["matched"]))
                         for s in data)
        except (KeyError, TypeError, ValueError):
            self.fail("selections", _("must be a list of {selection, match, file, line, "
                      "matched} objects"))
            return ()

    def general_change(self, where: str, action: Any, changed: list[str], before: Any,
                       after: Any) -> bool:
        if action != "update":
            self.fail(where, _("the general row can only be updated"))
            return False
        unknown = [n for n in changed if n not in _GENERAL_FIELDS]
        if unknown:
            self.fail(where, _("unknown field {field} (allowed: {allowed})").format(
                field=_shown(unknown[0]), allowed=", ".join(_GENERAL_FIELDS)))
        if not isinstance(before, dict) or not isinstance(after, dict) \
                or not isinstance(after.get("smtp"), dict):
            self.fail(where, _("`before` and `after` must be objects with a `smtp` object"))
            return False
        client = after.get("client")
        model = VERSIONS[self.model_version]
        if client not in CLIENTS:
            self.fail(where, "after.client: " + _("{value} is not one of {allowed}").format(
                value=_shown(client), allowed=", ".join(CLIENTS)))
        elif "client" in changed and not model.offers_client(client):
            self.fail(where, "after.client: " + _(
                "{client} is not offered by reference model version {version} (maestro* "
                "{maestro})").format(client=client, version=model.number, maestro=model.maestro))
        smtp = after["smtp"]
        self.values(where, "after.smtp.", smtp, nullable=("server", "port"))
        if not isinstance(smtp.get("ssl"), bool):
            self.fail(where, _("after.smtp.ssl: must be true or false"))
        return not unknown

    def user_change(self, where: str, action: Any, changed: list[str], before: Any,
                    after: Any, code: str, edition: Any) -> bool:
        unknown = [n for n in changed if n not in _USER_FIELDS]
        if unknown:
            self.fail(where, _("unknown field {field} (allowed: {allowed})").format(
                field=_shown(unknown[0]), allowed=", ".join(_USER_FIELDS)))
            return False
        before_set, after_set = {"create": (False, True), "update": (True, True),
                                 "delete": (True, False)}[action]
        before_ok = isinstance(before, dict) if before_set else before is None
        after_ok = isinstance(after, dict) if after_set else after is None
        if not (before_ok and after_ok):
            self.fail(where, _("a {action} has `before` {before} and `after` {after}").format(
                action=action, before=_("an object") if before_set else "null",
                after=_("an object") if after_set else "null"))
            return False
        modes = [self.state(where, name, state, code, edition)
                 for name, state in (("before", before), ("after", after)) if state is not None]
        if None in modes:
            return False
        if action == "update" and (MODE in changed) != (modes[0] != modes[1]):
            self.fail(where, _("`changed` names `mode` exactly when the update moves the user "
                      "to the other mode"))
            return False
        return True

    def state(self, where: str, name: str, state: dict[str, Any], code: str,
              edition: Any) -> str | None:
        """Check one user state (an SMTP section, or the Office 365 mode); its mode. The
        values of `after` (what apply would write) pass the configuration's rules; those of
        `before` are what the database holds, whatever they are."""
        if MODE not in state:
            extra = [k for k in state if k not in OVERRIDE_FIELDS]
            if extra:
                self.fail(where, _("{name}: unknown field {field}").format(
                    name=name, field=_shown(extra[0])))
            if name == "after":
                self.values(where, "after.", state, nullable=OVERRIDE_FIELDS)
            if name == "after" and edition == "cloud" and state.get("from") not in (None, code):
                self.fail(where, _("after.from: in maestro*CLOUD the From address is the "
                          "user code and cannot be set"))
            return "smtp"
        if state[MODE] != "office365" or set(state) != {MODE, *OFFICE365_FIELDS}:
            self.fail(where, _("{name}: an Office 365 state is {state}").format(
                name=name, state='{"mode": "office365", "email": ...}'))
            return None
        if self.model_version < 2:
            self.fail(where, _("{name}: the Office 365 mode needs reference model version 2 "
                               "(maestro* 3.05); the plan is for version {version}").format(
                                   name=name, version=self.model_version))
            return None
        if name == "after":
            self.values(where, "after.", state, nullable=())
        if name == "after" and edition == "cloud" and state.get("email") != code:
            self.fail(where, _("after.email: in maestro*CLOUD the Office 365 account is the "
                      "user code"))
        return "office365"

    def values(self, where: str, prefix: str, values: Mapping[str, Any],
               nullable: tuple[str, ...]) -> None:
        """The value rules of the configuration, for the fields present."""
        from mailprov.config.addresses import address_error

        for field in (*OVERRIDE, *OFFICE365):
            if field.name not in values:
                continue
            value = values[field.name]
            name = f"{prefix}{field.name}"
            if value is None:
                if field.name not in nullable:
                    self.fail(where, _("{name}: must be set").format(name=name))
                continue
            if field.kind is bool:
                if not isinstance(value, bool):
                    self.fail(where, _("{name}: {value} is not true or false").format(
                        name=name, value=_shown(value)))
            elif field.kind is int:
                if not _is_int(value) or not 1 <= value <= 65535:
                    self.fail(where, _("{name}: {value} is not a port (1 to 65535)").format(
                        name=name, value=_shown(value)))
            elif not isinstance(value, str) or not value or len(value) > 255 \
                    or not value.isprintable():
                self.fail(where, _("{name}: {value} must be printable text of 1 to 255 "
                                   "characters").format(name=name, value=_shown(value)))
            elif field.name == "server" and not _host_like(value):
                self.fail(where, _("{name}: {value} is not a host name").format(
                    name=name, value=_shown(value)))
            elif field.name in ("from", "email") or (field.name == "username"
                                                     and "@" in value):
                error = address_error(value)
                if error:
                    self.fail(where, _("{name}: {value} is not an e-mail address: {reason}"
                                       ).format(name=name, value=_shown(value), reason=error))

    def safety(self, data: Any, changes: list[Change]) -> SafetyReport | None:
        """The safety verdict computed again from the plan's changes and limits: the
        `reasons` and counts written in the file are not trusted (emptying them must not
        lift a threshold)."""
        from mailprov.model import Safety
        from mailprov.plan.safety import evaluate

        try:
            limits = Safety(float(data["max_change_percent"]), int(data["min_existing"]),
                            None if data.get("max_changes") is None
                            else int(data["max_changes"]))
            existing = int(data["existing_overrides"])
        except (KeyError, TypeError, ValueError):
            self.fail("safety", _("must hold the safety limits and counts of the plan"))
            return None
        if existing < 0:
            self.fail("safety", _("existing_overrides must not be negative"))
            return None
        return evaluate(changes, existing, limits)

    def warnings(self, data: Any) -> list[PlanWarning]:
        if not isinstance(data, list) or not all(
                isinstance(w, dict) and all(isinstance(w.get(k), str)
                                            for k in ("code", "address", "message"))
                for w in data):
            self.fail("warnings", _("must be a list of {code, address, message} objects"))
            return []
        return [PlanWarning(w["code"], w["address"],
                            stored_from_json(w.get("message_template"), w["message"]))
                for w in data]

    def password_notes(self, data: Any) -> list[PasswordNote]:
        if not isinstance(data, list) or not all(
                isinstance(n, dict) and all(isinstance(n.get(k), str)
                                            for k in ("code", "address", "message"))
                for n in data):
            self.fail("password_notes", _("must be a list of {code, address, message} objects"))
            return []
        return [PasswordNote(n["address"], n["code"],
                             stored_from_json(n.get("message_template"), n["message"]))
                for n in data]


def _rechecked(saved: list[PolicyViolation], policies: tuple[Policy, ...],
               changes: list[Change], existing: int) -> tuple[PolicyViolation, ...]:
    """The violations a plan says it has, and those its own policies find again in its
    changes: emptying `policy_violations` in the file does not hide one. (A value stored
    empty, which follows the general row, is checked by apply, which reads that row.)"""
    from mailprov.plan.policy import change_violations

    said = {(v.address, v.field, v.rule) for v in saved}
    found = [v for v in change_violations(policies, changes, None, existing)
             if (v.address, v.field, v.rule) not in said]
    return (*saved, *found)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _host_like(value: str) -> bool:
    """A host name or IP literal: no scheme, port, path, space or user part."""
    return not any(c in value for c in " /:@?#\\") or value.startswith("[")


def _changed_fields(address: str, before: Any, after: Any) -> tuple[str, ...]:
    """The `changed` a plan writes for this change (mailprov.plan.diff): the fields its
    `before` and `after` (already checked to be well formed) differ in."""
    from mailprov.plan.diff import general_changes, user_change

    if address == GENERAL:
        return general_changes(before, after)
    change = user_change(address, before, after, None)
    return () if change is None else change.changed

