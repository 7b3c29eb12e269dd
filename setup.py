"""Compile the translations (`.po` -> `.mo`) whenever the package is built.

The catalogs are kept in the repository as text (`mailprov/locale/*/LC_MESSAGES/
mailprov.po`); the compiled `.mo` files are build output, made here with Babel for
wheels, sdists and editable installs alike (docs/translating.md).
"""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

LOCALE = Path(__file__).parent / "mailprov" / "locale"


def compile_catalogs() -> None:
    """Write each catalog's `.mo` beside its `.po` (a fuzzy entry is left out)."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    for po_path in sorted(LOCALE.glob("*/LC_MESSAGES/mailprov.po")):
        with po_path.open("rb") as po_file:
            catalog = read_po(po_file, locale=po_path.parent.parent.name)
        with po_path.with_suffix(".mo").open("wb") as mo_file:
            write_mo(mo_file, catalog, use_fuzzy=False)


class BuildWithCatalogs(build_py):
    """build_py that compiles the catalogs first, so the `.mo` files ship in the wheel."""

    def run(self) -> None:
        compile_catalogs()
        super().run()


setup(cmdclass={"build_py": BuildWithCatalogs})
