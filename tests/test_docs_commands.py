"""Every `axon` command shown in a fenced block of README.md or docs/*.md is one the
command accepts: its subcommands exist, and every option it shows is an option of that
subcommand (a concrete command must parse as it stands). So the documents cannot drift
from the program. (Parsing only: running them all is left to the commands' own tests.)"""

import argparse
import re
import shlex
from pathlib import Path

import pytest

from axon.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```[\w-]*\n(.*?)^```", re.S | re.M)


def documented_commands() -> list[tuple[str, str]]:
    """(where, command line) of every axon invocation in the documents' fenced blocks."""
    found = []
    for path in DOCS:
        text = path.read_text()
        for block in FENCE.finditer(text):
            start = text[: block.start()].count("\n") + 2
            for number, line in enumerate(block.group(1).replace("\\\n", " ").splitlines(), start):
                line = line.strip().removeprefix("$ ")
                for part in line.split("&&"):
                    argv = axon_argv(part.split("  #")[0].split(" # ")[0])
                    if argv is not None:
                        found.append((f"{path.relative_to(ROOT)}:{number}", argv))
    return found


def axon_argv(command: str) -> str | None:
    """The arguments after `axon` in a shell command (`axon ...`, `.venv/bin/axon ...`,
    `torchrun ... -m axon ...`, `spark-submit ... $(which axon) ...`), else None."""
    match = re.search(r"(?:^|\s|/|-m )axon\)?(\s.*|$)", command.strip())
    if match is None or not re.match(r"^(\S*/)?(axon|torchrun|spark-submit)\b", command.strip()):
        return None
    return match.group(1).strip()


def subparser(parser: argparse.ArgumentParser, words: list[str]) -> tuple[argparse.ArgumentParser, list[str]]:
    """The parser of the (nested) subcommand that `words` name, and the words naming it."""
    path = []
    for word in words:
        actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if not actions or word not in actions[0].choices:
            break
        parser = actions[0].choices[word]
        path.append(word)
    return parser, path


COMMANDS = documented_commands()


def test_the_documents_show_commands():
    assert len(COMMANDS) > 30


@pytest.mark.parametrize("where, argv", COMMANDS, ids=[where for where, _ in COMMANDS])
def test_documented_command_is_accepted(where, argv):
    parser = build_parser()
    words = shlex.split(argv)
    sub, path = subparser(parser, [w for w in words if not w.startswith("-")][:3])
    assert path, f"{where}: `axon {argv}`: no such command"
    options = {s for action in sub._actions for s in action.option_strings}
    shown = re.findall(r"(?<![\w-])(--?[a-zA-Z][\w-]*)", argv)
    unknown = [option for option in shown if option not in options]
    assert not unknown, f"{where}: `axon {argv}`: `axon {' '.join(path)}` has no option {', '.join(unknown)}"
    if not re.search(r"[\[\]|<>]|\b[A-Z][A-Z_]{2,}\b", argv):  # concrete: no [OPTIONAL], A|B, <what>, PLACEHOLDER
        try:
            parser.parse_args(words)
        except SystemExit as exit:
            pytest.fail(f"{where}: `axon {argv}` does not parse (exit {exit.code})")
