"""Entry point: `python -m services.simulator` is `stormwatch simulator`."""

import sys

from services.cli import main

sys.exit(main(["simulator", *sys.argv[1:]]))
