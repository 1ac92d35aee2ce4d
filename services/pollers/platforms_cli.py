"""`stormwatch platforms`: list each platform with its poller status and what it can and cannot see."""

from __future__ import annotations

import argparse
import sys
from dataclasses import asdict

import orjson

from services.pollers.platforms import CATALOGUE, render_table


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the catalogue as JSON")
    parser.add_argument(
        "--status", choices=("supported", "planned", "unsupported"), help="only platforms with this status"
    )


def run(args: argparse.Namespace) -> int:
    entries = tuple(info for info in CATALOGUE if args.status is None or info.status == args.status)
    if args.json:
        payload = [{**asdict(info), "status": info.status} for info in entries]
        sys.stdout.write(orjson.dumps(payload, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        sys.stdout.write(render_table(entries) + "\n")
    return 0
