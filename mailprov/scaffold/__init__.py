"""`mailprov init`: a configuration repository ready for the pull-request workflow.

It writes `mailprov.yaml` (with the schema modeline, or the live configuration when
started from a database), `schemas/mailprov.schema.json`, `users/`, `.gitignore`, the
pre-commit configuration, the CI files of the team's choice and a short README. The
CI files are the ones in `examples/ci/` (a test keeps them identical).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from mailprov.errors import MailprovError
from mailprov.i18n import _

CI_FILES = {"github": ("github-workflow.yml", ".github/workflows/mailprov.yml"),
            "gitlab": ("gitlab-ci.yml", ".gitlab-ci.yml")}
SCHEMA_PATH = "schemas/mailprov.schema.json"
MODELINE = f"# yaml-language-server: $schema=./{SCHEMA_PATH}\n"
PLACEHOLDER_URL = "postgresql://mailprov@db.example.com/maestro"


def packaged_file(name: str) -> str:
    """A file shipped in mailprov/scaffold/files."""
    return (resources.files("mailprov.scaffold") / "files" / name).read_text("utf-8")


def ci_file(provider: str, target: str = "prod", url: str | None = None) -> str:
    """The CI file for `provider` (github or gitlab), for the target `target`; it installs
    the database driver the target's URL needs (PostgreSQL's when the URL is unknown)."""
    text = packaged_file(CI_FILES[provider][0])
    text = text.replace("  MAILPROV_TARGET: prod\n", f"  MAILPROV_TARGET: {target}\n")
    return text.replace('"mailprov[postgres]==', f'"{_package_for(url)}==')


def _package_for(url: str | None) -> str:
    scheme = (url or "postgresql").split(":", 1)[0].split("+", 1)[0].lower()
    if scheme in ("mysql", "mariadb"):
        return "mailprov[mysql]"
    if scheme == "sqlite":
        return "mailprov"
    return "mailprov[postgres]"


def starter_config(target: str, url: str | None = None) -> str:
    """A first mailprov.yaml: one target, nothing managed yet."""
    return MODELINE + f"""\
# How maestro* sends e-mail. `mailprov validate` checks this file, `mailprov plan`
# shows what would change, `mailprov apply` makes it so.
version: 1

targets:
  {target}:
    # never a password here: MAILPROV_DB_PASSWORD (CI) or `mailprov login {target}`
    url: {url or PLACEHOLDER_URL}
    edition: standard   # standard | cloud (maestro*CLOUD)
default_target: {target}

# Keys left out are not managed: maestro* keeps its values. Uncomment to manage them.
# general:
#   client: outlook     # other | outlook | lotus_notes | smtp
#   smtp:
#     server: smtp.example.com
#     port: 587
#     ssl: true

include:
  - users/*.yaml

prune: false   # true: per-user sections of users no file lists are removed
"""


def with_include(imported: str) -> str:
    """An imported configuration that also reads users/*.yaml."""
    return imported.rstrip("\n") + "\n\ninclude:\n  - users/*.yaml\n"


@dataclass(frozen=True)
class Scaffold:
    """The files `init` writes, by path relative to the folder."""

    files: Mapping[str, str]


def scaffold(target: str, ci: str | None, schema_text: str,
             config_text: str | None = None, url: str | None = None) -> Scaffold:
    """What `mailprov init` writes (nothing written yet)."""
    files = {
        "mailprov.yaml": config_text or starter_config(target),
        SCHEMA_PATH: schema_text,
        "users/shared-mailboxes.yaml": packaged_file("users-example.yaml"),
        ".gitignore": packaged_file("gitignore"),
        ".pre-commit-config.yaml": packaged_file("pre-commit-config.yaml"),
        "README.md": packaged_file("README.md"),
    }
    if ci:
        files[CI_FILES[ci][1]] = ci_file(ci, target, url)
    return Scaffold(files)


def write_scaffold(folder: str | os.PathLike[str], plan: Scaffold, force: bool = False
                   ) -> list[str]:
    """Write the files under `folder`; refuse (writing nothing) when any exists, unless
    `force`. Returns the paths written."""
    base = Path(folder)
    existing = [name for name in plan.files if (base / name).exists()]
    if existing and not force:
        raise MailprovError(_("{folder} already has {files}: nothing was written. Choose "
                              "an empty folder, or add --force to overwrite them").format(
                                  folder=os.fspath(folder), files=", ".join(existing)))
    for name, text in plan.files.items():
        path = base / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return list(plan.files)
