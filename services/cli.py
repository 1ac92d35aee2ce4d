"""The `stormwatch` command: parse arguments, load settings, configure logging, run an App. Nothing else."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from services.shared.errors import ConfigError, StormwatchError

SERVICES = ("pollers", "detector", "alerter")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="stormwatch", description="Early warning for reputation storms.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser(
        "run",
        help="run the whole pipeline in one process (embedded broker and database when none is configured)",
        description="Run pollers, detector and alerter in one process. Without KAFKA_BOOTSTRAP_SERVERS a Tansu "
        "broker is started; without DATABASE_URL an embedded PostgreSQL in --state-dir; without a config file the "
        "built-in demo (simulator, demo merchant, a storm).",
    )
    run.add_argument("--config", type=Path, help="YAML config file (default: STORMWATCH_CONFIG, else the demo)")
    run.add_argument("--state-dir", type=Path, default=Path(".stormwatch"), help="state folder (default .stormwatch/)")
    run.add_argument("--http-port", type=int, default=8080, help="metrics, health and HTTP API port (default 8080)")
    run.add_argument("--for", dest="duration", type=float, metavar="SECONDS", help="stop after SECONDS")
    run.add_argument("--notify-file", type=Path, help="also append every delivered notification as a JSON line")
    run.add_argument("--speed", type=float, default=120.0, help="demo simulator speed vs real time (default 120)")

    for name in SERVICES:
        service = commands.add_parser(name, help=f"run the {name} service alone against configured Kafka/PostgreSQL")
        service.add_argument("--config", type=Path, help="YAML config file (default: STORMWATCH_CONFIG)")
        service.add_argument("--http-port", type=int, help="HTTP port (default: STORMWATCH_HTTP_PORT or 8080)")

    classify = commands.add_parser(
        "classify", help="add negativity, negative, category and language to each line of a JSONL file (offline)"
    )
    from services.detector.classification.cli import add_arguments as add_classify_arguments

    add_classify_arguments(classify)

    from services.detector.backtest import add_arguments as add_backtest_arguments

    add_backtest_arguments(
        commands.add_parser(
            "backtest", help="run the live detection code over a file of review events, in event time, offline"
        )
    )
    from services.pollers import import_cli, platforms_cli

    platforms_cli.add_arguments(
        commands.add_parser("platforms", help="list the platform adapters and what each can and cannot see")
    )
    import_cli.add_arguments(
        commands.add_parser("import", help="publish reviews from a CSV or JSONL export (JD, Pinduoduo, ...)")
    )

    simulator = commands.add_parser("simulator", help="serve the fake platform APIs driven by a scenario")
    simulator.add_argument("--scenario", default="demo", help="'demo' or a scenario YAML file (default demo)")
    simulator.add_argument("--port", type=int, default=8090, help="port (default 8090)")
    simulator.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    simulator.add_argument("--speed", type=float, default=1.0, help="simulated seconds per real second (default 1)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return _dispatch(args)
    except ConfigError as exc:
        print(f"stormwatch: configuration error: {exc}", file=sys.stderr)
        return 2
    except StormwatchError as exc:
        print(f"stormwatch: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _dispatch(args: argparse.Namespace) -> int:
    """Offline commands run directly; services run on an event loop until a signal or their own end."""
    offline = _offline_commands()
    if args.command in offline:
        return offline[args.command](args)
    if args.command == "run":
        from services.local_run import run_local

        return asyncio.run(_until_signalled(lambda stop: run_local(args, stop)))
    if args.command == "simulator":
        from services.service_main import run_simulator

        return asyncio.run(_until_signalled(lambda stop: run_simulator(args, stop)))
    from services.service_main import run_service

    return asyncio.run(_until_signalled(lambda stop: run_service(args.command, args, stop)))


def _offline_commands() -> dict[str, Callable[[argparse.Namespace], int]]:
    """Commands that need no broker or database."""
    from services.detector.backtest import run_backtest
    from services.detector.classification.cli import run_classify
    from services.pollers import import_cli, platforms_cli

    return {
        "classify": run_classify,
        "backtest": run_backtest,
        "platforms": platforms_cli.run,
        "import": import_cli.run,
    }


async def _until_signalled(body: object) -> int:
    """Run `body(stop_event)`; SIGINT and SIGTERM only set the event, the body stops cleanly."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    assert callable(body)
    result = await body(stop)
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
