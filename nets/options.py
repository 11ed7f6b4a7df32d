"""Command lines from dataclasses, and the one way every command reports a bad command line.

The one piece of command-line code in nets/: train and infer both build their parsers with it, so a bad
option reads the same everywhere (one line, exit status 2) and help texts show defaults once.
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import sys
from typing import Any, TypeVar, get_args, get_origin, get_type_hints

T = TypeVar("T")


def option(default: Any, help: str, **metadata: Any) -> Any:
    """A dataclass field that is also a command-line option: ``help`` and any ``choices`` or ``flags``.

    ``None`` as default makes the option required; ``flags=("inputs",)`` makes it positional,
    ``flags=("-m", "--painter")`` gives it a short form or another name.
    """
    if isinstance(default, list):
        return dataclasses.field(default_factory=lambda: list(default), metadata={"help": help} | metadata)
    return dataclasses.field(default=default, metadata={"help": help} | metadata)


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Defaults in the help, except where there is none to show (required options, None, switches off)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        nothing = action.default is None or action.default is False or action.default == ""
        if nothing or action.required or "default" in (action.help or ""):
            return action.help or ""
        return super()._get_help_string(action) or ""


class OneLineErrorParser(argparse.ArgumentParser):
    """argparse that reports a bad command line in one line (exit status 2), like every other error."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, formatter_class=HelpFormatter, **kwargs)

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")

    def parse_known_args(self, args: Any = None, namespace: Any = None) -> Any:  # type: ignore[override]
        """As argparse, but ``--opt -3G`` gives ``--opt`` the value "-3G" (argparse takes a dash and a digit
        that is not a plain number for an option), so its own check can say what is wrong with it."""
        args = list(sys.argv[1:] if args is None else args)
        joined = []
        for arg in args:
            if joined and joined[-1].startswith("--") and "=" not in joined[-1] and re.fullmatch(r"-\d\S*", arg):
                joined[-1] = f"{joined[-1]}={arg}"
            else:
                joined.append(arg)
        return super().parse_known_args(joined, namespace)


def add_dataclass_options(parser: argparse.ArgumentParser, cls: type) -> None:
    """One option per field of ``cls``: type, default, help (and choices) from the field's metadata.

    A field without a default (``None``) is required; lists take one or more values; booleans get
    ``--x/--no-x``.
    """
    hints = get_type_hints(cls)
    for f in dataclasses.fields(cls):
        flags = f.metadata.get("flags", ("--" + f.name.replace("_", "-"),))
        kind = hints[f.name]
        default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
        options: dict[str, Any] = {"help": f.metadata["help"]}
        if flags[0].startswith("-"):
            options |= {"dest": f.name, "default": default}
            if kind is not bool and "choices" not in f.metadata:
                options["metavar"] = flags[-1].lstrip("-").replace("-", "_").upper()
        if kind is bool:
            parser.add_argument(*flags, action=argparse.BooleanOptionalAction, **options)
            continue
        if get_origin(kind) is list:
            options |= {"nargs": "+", "type": get_args(kind)[0]}
        else:
            options["type"] = kind
        if "choices" in f.metadata:
            options["choices"] = f.metadata["choices"]
        if flags[0].startswith("-"):
            options["required"] = default is None
        parser.add_argument(*flags, **options)


def from_args(cls: type[T], args: argparse.Namespace) -> T:
    """The dataclass ``cls`` filled from the options that :func:`add_dataclass_options` made for it."""
    return cls(**{f.name: getattr(args, f.name) for f in dataclasses.fields(cls)})  # type: ignore[call-arg]
