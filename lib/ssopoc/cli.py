"""The `ssopoc` command: run, sandbox, report, baseline, clean.

Every configuration problem ends the command with exit code 2 and one line on
standard error naming the field and the fix, before anything is written.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
from pathlib import Path

from ssopoc import logs
from ssopoc.errors import ConfigError, SandboxError
from ssopoc.sandbox.control import ensure_running, stop_background
from ssopoc.settings import Settings, load_settings

log = logging.getLogger(__name__)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ssopoc", description="Run the single sign-on experiment workbook."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    def with_params(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--params", help="params YAML (default params/sandbox.yaml)")
        sub.add_argument(
            "-p",
            dest="overrides",
            action="append",
            default=[],
            metavar="KEY=VALUE",
            help="override one parameter, e.g. -p http.retries.attempts=3",
        )

    run = commands.add_parser("run", help="execute the notebooks into a run folder")
    with_params(run)
    run.add_argument("--only", nargs="+", metavar="NN", help="notebook numbers")
    run.add_argument("--outputs", type=Path, help="folder for run folders")

    sandbox = commands.add_parser("sandbox", help="serve the emulators (foreground)")
    with_params(sandbox)
    control = sandbox.add_mutually_exclusive_group()
    control.add_argument(
        "--ensure", action="store_true", help="start it in the background if needed"
    )
    control.add_argument(
        "--stop", action="store_true", help="stop a sandbox running in the background"
    )

    baseline = commands.add_parser(
        "baseline", help="re-record the notebooks' reference outputs (sandbox)"
    )
    with_params(baseline)
    baseline.add_argument("--only", nargs="+", metavar="NN")

    report = commands.add_parser("report", help="rewrite a run folder's findings")
    report.add_argument("run_dir", type=Path)

    clean = commands.add_parser("clean", help="forget the sandbox state (reseed)")
    with_params(clean)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `ssopoc` console script; returns the exit code."""
    arguments = _parser().parse_args(argv)
    try:
        return _dispatch(arguments)
    except ConfigError as error:
        sys.stderr.write(f"ssopoc: {error}\n")
        return 2
    except SandboxError as error:
        sys.stderr.write(f"ssopoc: sandbox: {error}\n")
        return 1
    except KeyboardInterrupt:
        sys.stderr.write("ssopoc: interrupted\n")
        return 130


def _dispatch(arguments: argparse.Namespace) -> int:
    if arguments.command == "report":
        from ssopoc.report import write_findings

        if not (arguments.run_dir / "evidence.jsonl").is_file():
            raise ConfigError(
                "run_dir", "holds no evidence.jsonl", "name a folder under outputs/"
            )
        for path in write_findings(arguments.run_dir):
            sys.stdout.write(f"{path}\n")
        return 0

    settings = load_settings(arguments.params, arguments.overrides)
    if arguments.command == "run":
        from ssopoc.runner import run

        return run(settings, arguments.only, arguments.outputs)
    if arguments.command == "baseline":
        from ssopoc.baseline import record_baselines

        return record_baselines(settings, arguments.only)
    if arguments.command == "sandbox" and arguments.ensure:
        logs.configure(None)
        handle = ensure_running(settings)
        how = "started" if handle.started_here else "already running"
        logs.console.info("sandbox %s: %s", how, ", ".join(handle.base_urls.values()))
        return 0
    if arguments.command == "sandbox" and arguments.stop:
        logs.configure(None)
        stopped = stop_background(settings)
        logs.console.info("sandbox %s", "stopped" if stopped else "was not running")
        return 0
    if arguments.command == "sandbox":
        return _serve(settings)
    if arguments.command == "clean":
        state = settings.path(settings.params.sandbox.state_dir)
        if (state / "sandbox.pid").is_file():
            raise ConfigError(
                "sandbox", "is running", "stop it first: ssopoc sandbox --stop"
            )
        shutil.rmtree(state / "state", ignore_errors=True)
        for name in ("host.json", "credentials.json", "identifiers.json"):
            (state / name).unlink(missing_ok=True)
        logs.configure(None)
        logs.console.info("sandbox state cleared: %s", state)
        return 0
    raise AssertionError(arguments.command)


def _serve(settings: Settings) -> int:
    from ssopoc.sandbox.host import Host

    if settings.mode != "sandbox":
        raise ConfigError("mode", "is live", "serve the sandbox with sandbox params")
    state_dir = settings.path(settings.params.sandbox.state_dir)
    logs.configure(state_dir / "sandbox.log")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    host = Host(settings.params.sandbox, state_dir)
    host.serve()
    return 0
