"""Entry point: `python -m services.pollers` is `stormwatch pollers`."""

import sys

from services.cli import main

sys.exit(main(["pollers", *sys.argv[1:]]))
