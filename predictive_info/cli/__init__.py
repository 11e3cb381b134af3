"""The ``predinfo`` command: argument parsing only; the work is done by library and experiment modules.

Each subcommand lives in its own module of this package with ``register(subparsers)``, which adds its parser and
sets ``func`` to a callable taking the parsed arguments and returning an exit code.
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys

#: subcommand modules, in the order ``predinfo --help`` lists them.
SUBCOMMANDS = [
    "predictive_info.cli.frontier",
    "predictive_info.cli.info_plane",
    "predictive_info.cli.cpc",
    "predictive_info.cli.dropout",
    "predictive_info.cli.estimate",
    "predictive_info.cli.validate_estimators",
    "predictive_info.cli.compare_estimators",
    "predictive_info.cli.overfitting",
    "predictive_info.cli.sketch",
    "predictive_info.cli.classify",
]


class UserError(Exception):
    """A mistake in the user's input: printed as one line, exit status 2, no traceback."""


class _Parser(argparse.ArgumentParser):
    """Argument mistakes as one line (``predinfo classify: error: argument --sigmas: ...``), exit status 2; the
    usage is one ``--help`` away. Subcommand parsers are of this class too."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="predinfo",
        description="Measure how efficiently sequence models compress their past while predicting the future "
        "(the predictive information plane). All information is in nats.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in SUBCOMMANDS:
        importlib.import_module(name).register(sub)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "needs_tensorflow", False):
        from predictive_info.quiet import import_tensorflow

        import_tensorflow().config.experimental.enable_op_determinism()
    try:
        return int(args.func(args) or 0)
    except (UserError, ValueError, FileNotFoundError, KeyError) as err:
        message = err.args[0] if isinstance(err, KeyError) and err.args else err
        print(f"predinfo {args.command}: error: {message}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. `predinfo frontier | head`: the reader left; not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print(f"predinfo {args.command}: interrupted; rerun the same command to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
