"""Refuse what the target's maestro* version lacks, before anything is planned.

The Office 365 – Modern Authentication mode needs reference model version 2
(maestro* 3.05); Lotus Notes is not in maestro* 3.05. Each feature is refused once,
with the version, how mailprov knows it (read from the schema, or declared in the
mapping file) and how to tell mailprov when that is wrong. Pure: no I/O.
"""

from __future__ import annotations

from mailprov.errors import Problem, quoted
from mailprov.i18n import _, ngettext
from mailprov.model import Config, LiveState
from mailprov.model.versions import CLIENT_LABELS, VERSIONS, ModelVersion

SHOWN_USERS = 10
CODE = "model-version"


def _known(live: LiveState, model: ModelVersion, target: str) -> str:
    """`target 'prod' is on reference model version 1 (maestro* before 3.05; read from its
    schema: ...)`."""
    if live.model_declared_in:
        how = _("declared in its mapping file {file}").format(file=live.model_declared_in)
    elif model.number == 1:
        how = _("read from its schema: its users table has no Office 365 columns "
                "(mail_mode, o365_email, o365_authenticated_at)")
    else:
        how = _("read from its schema: its users table has the Office 365 columns")
    return _("target {target} is on reference model version {version} (maestro* {maestro}; "
             "{how})").format(target=quoted(target), version=model.number,
                              maestro=model.maestro, how=how)


def _wrong(live: LiveState, model: ModelVersion) -> str:
    """How to tell mailprov the version when it is wrong."""
    other = 2 if model.number == 1 else 1
    if live.model_declared_in:
        return _("If that is wrong, fix `model_version` in {file}.").format(
            file=live.model_declared_in)
    return _("If the target is maestro* {maestro} and that is wrong, declare "
             "`model_version: {other}` in its mapping file (docs/office365.md).").format(
                 maestro=VERSIONS[other].maestro, other=other)


def version_problems(config: Config, live: LiveState, target: str) -> list[Problem]:
    """What the files ask for that the target's model version does not offer: a default
    client, the Office 365 mode of users. One problem per feature."""
    model = VERSIONS[live.model_version]
    problems = []
    client = config.general.client
    if client is not None and not model.offers_client(client):
        problems.append(config.problem(
            config.origin("general.client"), ("general", "client"),
            _("{known}, which has no {label}: choose one of {clients}. {wrong}").format(
                known=_known(live, model, target), label=CLIENT_LABELS.get(client, client),
                clients=", ".join(model.clients), wrong=_wrong(live, model)), code=CODE))
    if not model.offers_mode("office365"):
        users = sorted(code for code, user in config.users.items()
                       if user.office365 is not None)
        if users:
            first = config.users[users[0]]
            listed = first.listed_by in ("user", "csv")
            shown = ", ".join(users[:SHOWN_USERS])
            if len(users) > SHOWN_USERS:
                shown += _(" and {count} more").format(count=len(users) - SHOWN_USERS)
            asked = ngettext("{count} user asks for it ({users})",
                             "{count} users ask for it ({users})", len(users)).format(
                count=len(users), users=shown)
            problems.append(config.problem(
                first.source.file,
                ("users", users[0], "office365") if listed else ("users", users[0]),
                _("{known}, which has no Office 365 – Modern Authentication mode: {asked}. "
                  "Keep them on `smtp:` until maestro* is 3.05. {wrong}").format(
                    known=_known(live, model, target), asked=asked,
                    wrong=_wrong(live, model)), key=True, code=CODE))
    return problems
