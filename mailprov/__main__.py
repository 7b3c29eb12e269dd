"""Allow `python -m mailprov`."""

from mailprov.cli import main

main()
