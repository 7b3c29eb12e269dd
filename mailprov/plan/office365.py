"""What a plan says about Office 365: every override that will still send through Exchange
Online with a password, and the new Outlook. Pure: no I/O.

Microsoft turns SMTP AUTH with a password off by default for existing Exchange Online
tenants at the end of December 2026, so each user still sending that way after the
plan is warned of by name (with the date and the errors they will get), whether the
files set that server, a preset or general.smtp gave it, or the files do not list the
user at all. The files' own warning of the same trap (placed at a user's section or a
preset) is replaced by these; the one about general.smtp stays.
"""

from __future__ import annotations

from collections.abc import Iterable

from mailprov.config.presets import BASIC_AUTH_RETIREMENT, BASIC_AUTH_RETIREMENT_CODE
from mailprov.config.semantic import is_office365_host
from mailprov.i18n import N_, stored
from mailprov.model import LiveState, state_mode
from mailprov.plan.format import GENERAL, USER_PREFIX, Change, PlanWarning

REPLACED_CODES = frozenset({BASIC_AUTH_RETIREMENT_CODE})
"""Configuration warnings the plan says per user instead (but for general.smtp's)."""
NEW_OUTLOOK_CODE = "new-outlook-needs-office365"


def replaced(code: str, address: str) -> bool:
    """Whether the plan drops a configuration warning for its per-user version."""
    return code in REPLACED_CODES and address != GENERAL


def office365_warnings(live: LiveState, changes: Iterable[Change]) -> list[PlanWarning]:
    """One warning per user who sends through Exchange Online with a password once the
    plan is applied, and one when the plan sets the default client to Outlook on a
    maestro* that offers Office 365."""
    after = {}
    warnings = []
    general_server = live.general.server
    for change in changes:
        if change.user_code is not None:
            after[change.user_code] = change.after
            continue
        if change.after and isinstance(change.after.get("smtp"), dict):
            general_server = change.after["smtp"].get("server")
        if "client" in change.changed and change.after \
                and change.after.get("client") == "outlook" and live.model_version >= 2:
            warnings.append(PlanWarning(NEW_OUTLOOK_CODE, GENERAL, stored(N_(
                "`client: outlook` works through the Outlook profile of classic Outlook for "
                "Windows; the new Outlook for Windows cannot be driven that way: its users "
                "need Office 365 – Modern Authentication (`client: office365`, or an "
                "`office365` section for each of them)"))))
    for code in sorted(live.users):
        user = live.users[code]
        state = after[code] if code in after else user.state()
        if state_mode(state) != "smtp" or state is None:
            continue
        # a server stored empty is the general one when maestro* sends
        server = state.get("server") or general_server
        if state.get("username") is not None and is_office365_host(server):
            warnings.append(PlanWarning(BASIC_AUTH_RETIREMENT_CODE, USER_PREFIX + code, stored(
                N_("{server}: {message}"), server=str(server),
                message=stored(BASIC_AUTH_RETIREMENT))))
    return warnings
