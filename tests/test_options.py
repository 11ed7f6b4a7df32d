"""Every command's options: help for each, defaults shown once, and the reference settings from one place."""

from __future__ import annotations

import argparse
import dataclasses
import re

import pytest

from infer.__main__ import build_parser as infer_parser
from infer.compare import CompareConfig
from infer.reference import ReferenceConfig
from train.config import TrainConfig
from train.config import build_parser as train_parser


def commands() -> dict[str, argparse.ArgumentParser]:
    infer = infer_parser()
    found = {"train": train_parser("python -m train", "train")}
    for action in infer._actions:
        if isinstance(action, argparse._SubParsersAction):
            found |= {f"infer {name}": parser for name, parser in action.choices.items()}
    return found


@pytest.mark.parametrize("name", ["train", "infer image", "infer video", "infer export", "infer reference",
                                  "infer compare"])
def test_every_option_has_help_and_shows_its_default_once(name):
    parser = commands()[name]
    for action in parser._actions:
        assert action.help, f"{name}: {action.option_strings or action.dest} has no help"
    text = parser.format_help()
    assert "(default: None)" not in text and "(default: )" not in text
    for block in re.split(r"\n  (?=-)", text):
        assert block.count("default") <= 1, block


@pytest.mark.parametrize("config, command", [(TrainConfig, "train"), (ReferenceConfig, "infer reference"),
                                             (CompareConfig, "infer compare")])
def test_each_setting_is_an_option_with_the_dataclass_default(config, command):
    parser = commands()[command]
    by_dest = {a.dest: a for a in parser._actions}
    for f in dataclasses.fields(config):
        default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
        assert f.name in by_dest, f"{command} has no option for {f.name}"
        if by_dest[f.name].option_strings:
            assert by_dest[f.name].default == default, f.name
