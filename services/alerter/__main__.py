"""Entry point: `python -m services.alerter` is `stormwatch alerter`."""

import sys

from services.cli import main

sys.exit(main(["alerter", *sys.argv[1:]]))
