"""The `axon` command starts light: building its parser (for --help, --version and
argument errors) imports no heavy library, so that they answer in well under a second."""

import subprocess
import sys

import axon
from axon.cli import COMMANDS

HEAVY = ("torch", "numpy", "pydantic", "yaml", "matplotlib", "rich", "sklearn", "safetensors")


def test_building_the_parser_imports_no_heavy_library():
    code = (
        "import sys, axon.cli; axon.cli.build_parser(); "
        f"print(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"importing these made `axon --help` slow: {out.stdout.strip()}"


def test_every_listed_command_module_has_add_parser():
    import importlib

    for name in COMMANDS:
        assert callable(importlib.import_module(f"axon.cli.{name}").add_parser), name


def test_version():
    out = subprocess.run([sys.executable, "-m", "axon", "--version"], capture_output=True, text=True)
    assert out.returncode == 0
    assert out.stdout.strip() == f"axon {axon.__version__}"


def test_argument_error_is_usage_and_exit_2():
    out = subprocess.run([sys.executable, "-m", "axon", "train", "--epochs", "x"], capture_output=True, text=True)
    assert out.returncode == 2
    assert "invalid int value: 'x'" in out.stderr


def test_axon_trainer_still_importable_from_the_package():
    from axon.train import Trainable, Trainer

    assert axon.Trainer is Trainer and axon.Trainable is Trainable


def test_output_to_a_closed_pipe_stops_quietly():
    """`axon ... | head -1`: when the reader has gone, no BrokenPipeError traceback."""
    import os

    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before axon writes anything
    try:
        out = subprocess.run([sys.executable, "-m", "axon", "models"], stdout=write_end, stderr=subprocess.PIPE,
                             text=True)
    finally:
        os.close(write_end)
    assert out.returncode == 1 and out.stderr == ""
