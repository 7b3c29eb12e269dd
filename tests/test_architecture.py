"""The package's shape: imports point one way, from the command line down to the errors.

    cli -> api -> render, scaffold -> live, apply, fleet -> db -> plan -> config -> model -> errors
    -> i18n

Every import counts, including those inside functions (they are how heavy modules are
loaded late, but they are dependencies all the same). A module may import its own
folder and any layer below its own; nothing imports `cli` or `api` from below.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "mailprov"

# the lower the number, the more basic the layer
LAYERS = {
    "i18n": -1,  # errors quote values the French way, so they need the language
    "errors": 0,
    "keystore": 1,
    "model": 1,
    "config": 2, "passwords": 2, "smtp": 2,
    "plan": 3,
    "db": 4,
    "apply": 5, "live": 5, "fleet": 5,
    "render": 6, "scaffold": 6,
    "api": 7,
    "cli": 8, "__main__": 9,
}


def _layer_of(module: str) -> tuple[str, int]:
    top = module.split(".")[1] if module.count(".") else "__init__"
    assert top in LAYERS or top == "__init__", f"mailprov.{top} has no layer: add it to LAYERS"
    return top, LAYERS.get(top, -1)


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "mailprov":
                found.update(f"mailprov.{alias.name}" for alias in node.names
                             if alias.name != "__version__")
            elif node.module.startswith("mailprov."):
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("mailprov."))
    return found


def test_imports_point_one_way() -> None:
    wrong = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = "mailprov." + ".".join(path.relative_to(PACKAGE).with_suffix("").parts)
        module = module.removesuffix(".__init__")
        if module == "mailprov":
            continue
        top, layer = _layer_of(module)
        for imported in _imports(path):
            other, other_layer = _layer_of(imported)
            if other != top and other_layer >= layer:
                wrong.append(f"{module} imports {imported}")
    assert wrong == []


def test_the_package_root_holds_only_the_foundations() -> None:
    loose = sorted(p.stem for p in PACKAGE.glob("*.py"))
    assert loose == ["__init__", "__main__", "errors", "i18n", "keystore"]


def test_the_command_line_and_the_front_door_are_packages_of_small_modules() -> None:
    """cli and api are folders, one module per family of commands, none a catch-all."""
    for package in ("cli", "api"):
        folder = PACKAGE / package
        assert (folder / "__init__.py").is_file(), f"mailprov/{package}/ is a package"
        for module in folder.glob("*.py"):
            lines = module.read_text(encoding="utf-8").count("\n")
            assert lines < 600, f"{module.relative_to(PACKAGE)} has {lines} lines: split it"


def test_the_front_door_holds_no_logic_of_its_own() -> None:
    """Helpers that do the work (paths, checks of values) live in the library; api's
    modules only call it: their only private functions are the few they share."""
    import ast

    private = sorted(
        f"{module.stem}.{node.name}"
        for module in (PACKAGE / "api").glob("*.py")
        for node in ast.parse(module.read_text(encoding="utf-8")).body
        if isinstance(node, ast.FunctionDef) and node.name.startswith("_")
        and node.name != "__getattr__")
    assert private == ["plans._config_commit", "plans._config_dir"]


def test_the_entry_points_still_find_the_command() -> None:
    """pyproject's `mailprov.cli:main`, `from mailprov.cli import cli`, and every name
    api exported before it became a package."""
    import click

    import mailprov.api as api
    from mailprov.cli import cli, main

    assert isinstance(cli, click.Group) and callable(main)
    assert all(hasattr(api, name) for name in api.__all__)


def test_the_override_columns_are_defined_once() -> None:
    """MailSettings and DesiredOverride hold the OVERRIDE fields, in its order; the
    reference column names, write order and read lists all derive from OVERRIDE."""
    from mailprov.db.batch import WRITE_ORDER
    from mailprov.db.read import STATE_FIELDS, USER_FIELDS
    from mailprov.model import OVERRIDE, REFERENCE, DesiredOverride, MailSettings

    attrs = [f.attr for f in OVERRIDE]
    assert list(MailSettings.__struct_fields__) == attrs
    # plus `empty`: the fields a file sets to null (stored empty)
    assert list(DesiredOverride.__struct_fields__) == [*attrs, "empty"]
    names = tuple(f.name for f in OVERRIDE)
    assert ("override", *names) == WRITE_ORDER
    assert ("name", "number", "code", "override", *names) == USER_FIELDS
    assert ("number", "code", "override", *names) == STATE_FIELDS
    assert {f.name: REFERENCE.user_columns[f.name] for f in OVERRIDE} == {
        f.name: f.column for f in OVERRIDE}


def test_the_office365_mode_is_defined_once() -> None:
    """The Office 365 mode's fields come from OFFICE365, beside OVERRIDE: the reference
    columns, the version-2 state and write order, and the per-user modes derive from them."""
    from mailprov.db.tables import build_tables, state_fields, write_order
    from mailprov.model import OFFICE365, OVERRIDE, REFERENCE, USER_MODES

    smtp = tuple(f.name for f in OVERRIDE)
    office365 = tuple(f.name for f in OFFICE365)
    assert state_fields(2) == ("number", "code", "override", *smtp, "mode", *office365)
    assert write_order(2) == ("override", *smtp, "mode", *office365)
    assert {f.name: REFERENCE.user_columns[f.name] for f in OFFICE365} == {
        f.name: f.column for f in OFFICE365}
    assert (USER_MODES["smtp"].fields, USER_MODES["office365"].fields) == (OVERRIDE, OFFICE365)
    assert [c.name for c in build_tables(REFERENCE, 2).users.columns][-3:] == [
        "mail_mode", "o365_email", "o365_authenticated_at"]
    assert "mail_mode" not in build_tables(REFERENCE, 1).users.columns
