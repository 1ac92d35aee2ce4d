"""Entry point: `python -m services.detector` is `stormwatch detector`."""

import sys

from services.cli import main

sys.exit(main(["detector", *sys.argv[1:]]))
