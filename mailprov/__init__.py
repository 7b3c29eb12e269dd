"""mailprov: config-as-code for how maestro* sends e-mail.

The package root stays import-light so that `mailprov --version` starts fast;
the public API lives in :mod:`mailprov.api`.
"""

__version__ = "0.1.0"
