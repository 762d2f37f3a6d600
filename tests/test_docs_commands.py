"""Every `axon` command shown in README.md and docs/*.md is one the program accepts, and runs.

What counts as shown: each line of a fenced or indented code block that starts with `axon`,
`.venv/bin/axon`, `torchrun ... -m axon`, `spark-submit ... $(which axon)` (after `$ `, an
environment assignment such as `OMP_NUM_THREADS=1`, or `&&`), and each inline code span
`` `axon ...` `` of the prose that is a complete command (one that parses as it stands; the
others, such as `axon eval` or `axon pvm run|import|...`, name commands in a sentence).
Other lines are left out: `pip install`, `python3 -m venv`, `nc`, `python benchmarks/...`,
and Python code blocks (except the README's "The same from Python", which makes the run
folder its commands use).

Two checks:

- parsing (fast): every block command's subcommands exist and every option it shows is an
  option of that subcommand; a concrete command parses as it stands;
- running (`test_document_runs`, one test per document): the document's commands run in
  document order in one temporary folder that holds a copy of `examples/` (EXAMPLE_CHANGES:
  the long example configs shortened, each with its reason), the files the document tells
  its reader to have (SETUP) and the files its heredocs write, each through `axon.cli.main`
  with `--threads 1` where the command takes it (torchrun lines as subprocesses), and each
  must exit 0; EXPECTED names files some of them must have written. One interpreter runs
  a whole document (tests/docs_steps.py), so torch is imported once per document, not once
  per command (an environment assignment such as `OMP_NUM_THREADS=1` is dropped: `--threads
  1` is given instead). A command runs exactly as shown unless RUN_AS gives the form that
  runs and why (a shorter run of the same code path, or placeholders filled in; `a && b`
  runs both) or SKIP says why it does not run here; the same command shown twice runs
  once, where it is first shown. `test_every_command_is_run_or_has_a_reason` keeps these
  lists in step with the documents: a block command with placeholders (RUN_DIR, `[--option]`,
  `a|b`, `<id>`) must be in RUN_AS or SKIP, and every entry must still be shown somewhere.
  A new concrete command in a document is run as it stands: if it is long, the test is long
  until it gets a RUN_AS entry.
"""

import argparse
import contextlib
import io
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from axon.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```[\w-]*\n(.*?)^```", re.S | re.M)
INLINE = re.compile(r"`(axon [^`\n]+)`")
# [OPTIONAL], A|B, <what>, PLACEHOLDER (not a value such as XNOR, nor a file name such as ORIGINAL.json)
PLACEHOLDER = re.compile(r"[\[\]|<>]|\b(?!XNOR\b)[A-Z][A-Z_]*\b(?![.\w])")
# [OPTIONAL], A|B, <what>, PLACEHOLDER (not a value such as XNOR, nor a file name such as ORIGINAL.json)

@dataclass(frozen=True)
class Shown:
    where: str       # README.md:17
    command: str     # the command as shown, without `$ `, comments or environment assignments
    argv: str        # the words after `axon`
    inline: bool     # an inline code span of the prose

    @property
    def key(self) -> str:
        """`axon ARGV` for the axon command itself (however it is reached), else the whole line."""
        direct = re.match(r"^(\S*/)?axon\b", self.command)
        return f"axon {self.argv}".strip() if direct else self.command


def code_lines(text: str) -> list[tuple[int, str]]:
    """(line number, line) of every fenced block and indented block of a Markdown text; a line
    ending in `\\` is joined with the next."""
    lines, fenced = [], set()
    for block in FENCE.finditer(text):
        start = text[: block.start()].count("\n") + 2
        for number, line in enumerate(block.group(1).split("\n"), start):
            lines.append((number, line))
        fenced.update(range(start - 1, start + block.group(1).count("\n") + 1))
    previous_blank, in_block = True, False
    for number, line in enumerate(text.split("\n"), 1):
        in_block = number not in fenced and line.startswith("    ") and (previous_blank or in_block)
        if in_block:
            lines.append((number, line))
        previous_blank = not line.strip()
    lines.sort()
    joined = []
    for number, line in lines:
        if joined and joined[-1][1].endswith("\\") and number == joined[-1][2] + 1:
            joined[-1] = (joined[-1][0], joined[-1][1][:-1] + " " + line.strip(), number)
        else:
            joined.append((number, line, number))
    return [(number, line) for number, line, _ in joined]


def documented_commands(inline: bool = False) -> list[Shown]:
    """Every axon invocation of the documents' code blocks (and, with `inline`, of their
    inline code spans), in document order."""
    found = []
    for path in DOCS:
        text, name = path.read_text(), path.relative_to(ROOT)
        for number, line in code_lines(text):
            line = line.strip().removeprefix("$ ")
            for part in line.split("&&"):
                command = re.sub(r"^(\w+=\S*\s+)+", "", part.split("  #")[0].split(" # ")[0].strip())
                command = " ".join(command.split())
                argv = axon_argv(command)
                if argv is not None:
                    found.append(Shown(f"{name}:{number}", command, argv, False))
        if inline:
            prose = FENCE.sub(lambda block: "\n" * block.group(0).count("\n"), text)
            for match in INLINE.finditer(prose):
                number = prose[: match.start()].count("\n") + 1
                found.append(Shown(f"{name}:{number}", match.group(1), axon_argv(match.group(1)), True))
    return sorted(found, key=lambda shown: (DOCS.index(ROOT / shown.where.split(":")[0]),
                                            int(shown.where.split(":")[1])))


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


@pytest.mark.parametrize("shown", COMMANDS, ids=[shown.where for shown in COMMANDS])
def test_documented_command_is_accepted(shown):
    where, argv = shown.where, shown.argv
    parser = build_parser()
    words = shlex.split(argv)
    sub, path = subparser(parser, [w for w in words if not w.startswith("-")][:3])
    assert path, f"{where}: `axon {argv}`: no such command"
    options = {s for action in sub._actions for s in action.option_strings}
    shown_options = re.findall(r"(?<![\w-])(--?[a-zA-Z][\w-]*)", argv)
    unknown = [option for option in shown_options if option not in options]
    assert not unknown, f"{where}: `axon {argv}`: `axon {' '.join(path)}` has no option {', '.join(unknown)}"
    if not PLACEHOLDER.search(argv):
        try:
            parser.parse_args(words)
        except SystemExit as exit:
            pytest.fail(f"{where}: `axon {argv}` does not parse (exit {exit.code})")


# ---------------------------------------------------------------------------------------------
# Running them

# documented command (Shown.key) -> (what runs instead, why). A shorter run keeps the code path.
RUN_AS = {
    "axon train": (
        "axon train --epochs 1",
        "the quick start's 20 epochs cost 20-35 CPU-s; one epoch runs the same path and writes the run folder"),
    "axon batch-find --max-batch 1024": (
        "axon batch-find --max-batch 1024 --steps 1",
        "one timed step per batch size instead of 5 (10 CPU-s)"),
    "axon eval RUN_DIR [--checkpoint best|last] [--out PNG]": (
        "axon eval runs/[0-9]* --checkpoint last --out last.png",
        "the synopsis, filled in with the quick start's run"),
    "axon classic weights --weights other.safetensors --out figs": (
        "axon classic weights --weights runs/classic/voting.safetensors --out figs",
        "`other.safetensors` is the reader's own file: the one `axon classic voting` saved"),
    "axon classic capacity": (
        "axon classic capacity --sizes 100 200 --trials 2",
        "the full sweep is about 30 s of CPU; two sizes and two trials run the same experiment and plot"),
    "axon classic rbm --visible gaussian": (
        "axon classic rbm --visible gaussian --components 25",
        "25 hidden units instead of 100: scikit-learn's logistic regression on 100 RBM features "
        "(max_iter 2000) costs 25-50 CPU-s; the same training, filters, samples and comparison"),
    "axon classic rbm": ("axon classic rbm --components 25", "25 hidden units instead of 100 (as above)"),
    "axon classic rbm --pcd": ("axon classic rbm --pcd --components 25", "25 hidden units instead of 100 (as above)"),
    "axon classic dbn": (
        "axon classic dbn --rbm-epochs 2 --epochs 5",
        "2 pretraining epochs per RBM instead of 10 and 5 fine-tuning epochs instead of 30 (8 CPU-s)"),
    "axon classic boltzmann": ("axon classic boltzmann --iters 100", "100 updates instead of 500 (6 CPU-s)"),
    "axon detect synth data/kitti-synth --scenes 360 --val-fraction 0.167": (
        "axon detect synth data/kitti-synth --scenes 12 --val-fraction 0.167",
        "12 scenes (10 train, 2 val) instead of 360: the training below is shortened to match"),
    "axon predict runs/pointpillars-synth-cpu data/kitti-synth/training/velodyne/000310.bin": (
        "axon predict runs/pointpillars-synth-cpu data/kitti-synth/training/velodyne/000011.bin",
        "frame 310 is a val frame of the 360 scenes; 11 is one of the 12 made here"),
    "axon pvm run examples/pvm/seed-small.json --steps 20000 --metrics-every 500 --display-every 5000 "
    "--snapshot-every 5000 --out runs/pvm/small": (
        "axon pvm run examples/pvm/seed-small.json --steps 20 --metrics-every 5 --display-every 10 "
        "--snapshot-every 10 --out runs/pvm/small",
        "20 steps instead of 20,000 (about 10 min of CPU): metrics, displays and snapshots are all written"),
    "axon pvm run examples/pvm/experiment-1.json --merge-layers on --steps 1000": (
        "axon pvm run examples/pvm/experiment-1.json --merge-layers on --steps 20",
        "20 steps instead of 1000 (60 CPU-s)"),
    "axon pvm run examples/pvm/seed-small-axon.json --set step=pipelined --merge-layers on": (
        "axon pvm run examples/pvm/seed-small-axon.json --set step=pipelined --merge-layers on --steps 20 "
        "--out runs/pvm/merged",
        "20 steps instead of the default run; a folder of its own (docs/pvm.md:149 runs the same model)"),
    "axon pvm run examples/pvm/seed-small-axon.json --steps 20000": (
        "axon pvm run examples/pvm/seed-small-axon.json --steps 20",
        "20 steps instead of 20,000 (about 10 min of CPU)"),
    "axon pvm run MODEL --set schedule.delay_each_layer=2000": (
        "axon pvm run examples/pvm/seed-small.json --set schedule.delay_each_layer=2000 --steps 5 --out runs/pvm/set",
        "MODEL filled in; 5 steps"),
    "axon pvm info MODEL": ("axon pvm info examples/pvm/seed-small.json", "MODEL filled in"),
    "axon pvm plot RUN": ("axon pvm plot runs/pvm/small", "RUN filled in with the run above"),
    "axon pvm dream RUN/snapshots/step_N.safetensors [--steps 40 --warmup 10]": (
        "axon pvm dream runs/pvm/small/snapshots/step_00000020.safetensors --steps 4 --warmup 2",
        "RUN and N filled in with the run above; 4 steps after 2 real frames"),
    "axon pvm fill RUN/snapshots/step_N.safetensors [--fraction 0.33]": (
        "axon pvm fill runs/pvm/small/snapshots/step_00000020.safetensors --fraction 0.33 --steps 4",
        "RUN and N filled in with the run above; 4 steps"),
    "axon pvm track RUN/snapshots/step_N.safetensors [--source shapes] [--layers 0]": (
        "axon pvm run examples/pvm/tracker-small.json --source shapes --steps 20 --snapshot-every 20 "
        "--out runs/pvm/tracker && axon pvm track runs/pvm/tracker/snapshots/step_00000020.safetensors "
        "--source shapes --layers 0 --steps 4",
        "track needs a model with a readout, as the document says: RUN is 20 steps of tracker-small on shapes"),
    "axon pvm scale examples/pvm/seed-small.json examples/pvm/seed-large.json --steps N": (
        "axon pvm scale examples/pvm/seed-small.json examples/pvm/seed-large.json --steps 4 --metrics-every 2",
        "N filled in: 4 steps of each model, errors measured every 2"),
    "axon classic conditioning PARADIGM [--model rw|td] [--eps 0.2] [--gamma 1] [--lam 0]": (
        "axon classic conditioning blocking --model td --eps 0.2 --gamma 1 --lam 0",
        "the synopsis, with one of its paradigms"),
    "axon classic dopamine [--trials 300] [--eps 0.5] [--gamma 1] [--steps 250]": (
        "axon classic dopamine --trials 300 --eps 0.5 --gamma 1 --steps 250", "the synopsis, as shown"),
    "axon classic random-walk --states 5 [--method td-mc|batch] [--runs 100] [--episodes 100] [--seed 0] [--out DIR]": (
        "axon classic random-walk --states 5 --method batch --runs 100 --episodes 100 --seed 0 --out runs/td",
        "the synopsis, with one of its methods"),
    "axon classic random-walk --states 19 [--method online|lambda-return|n-step] [--runs 100] [--episodes 10]": (
        "axon classic random-walk --states 19 --method online --runs 100 --episodes 10",
        "the synopsis, with one of its methods"),
    "axon classic td-gammon train [--games 1000] [--hidden 40] [--alpha 0.1] [--lam 0.7]": (
        "axon classic td-gammon train --games 10 --hidden 40 --alpha 0.1 --lam 0.7 --eval-games 10",
        "the synopsis, with 10 self-play games instead of 1000 and 10 evaluation games"),
    "axon classic td-gammon play [--checkpoint FILE] [--games 1000] [--seed 0] [--out DIR]": (
        "axon classic td-gammon play --games 10 --seed 0 --out runs/td",
        "the synopsis, with the checkpoint the training above wrote and 10 games against each opponent"),
    "axon classic td-gammon play --checkpoint examples/td_gammon/td_gammon_h40.safetensors --games 1000": (
        "axon classic td-gammon play --checkpoint examples/td_gammon/td_gammon_h40.safetensors --games 20",
        "20 games against each opponent instead of 1000 (about 0.05 CPU-s a game)"),
}

# documented command -> why it does not run here
SKIP = {
    "axon train [CONFIG.yaml] [--epochs N] [--lr LR] [--batch-size B] [--seed S]":
        "the synopsis: `axon train` runs in the quick start, `axon train photos.yaml --name photos` below",
    "axon train --resume RUN_DIR": "the synopsis: `axon train --resume runs/py` runs below",
    "axon train config.yaml --nproc 4 --nnodes 2 --node-rank 0 --master node0:29500": "needs two machines",
    "axon train config.yaml --nproc 4 --nnodes 2 --node-rank 1 --master node0:29500": "needs two machines",
    "torchrun --nnodes 2 --nproc-per-node 4 --node-rank 0 --master-addr node0 --master-port 29500 "
    "-m axon train config.yaml --name my-run": "needs two machines",
    "axon train config.yaml --nproc 4":
        "a 4-GPU machine's command; `--nproc 2` runs the same code (4 processes on 2 shared cores: minutes)",
    "axon train config.yaml --nproc 2 --max-restarts 2":
        "the launch docs/distributed.md:16 runs (`--nproc 2`) with a restart budget, which only a dying "
        "process uses: tests/dist/test_cli.py kills one and checks the restart (each 2-process run costs "
        "about 25 CPU-s)",
    "axon train config.yaml --nproc 2 --max-restarts 3": "as `--max-restarts 2` (README.md)",
    "axon train --resume runs/my-run --nproc 2":
        "runs/my-run is made by the two-machine torchrun line, which cannot run here; tests/dist/test_cli.py "
        "resumes a killed 2-process run and checks it bitwise (another 2-process run here: 25 CPU-s)",
    "torchrun --standalone --nproc-per-node 2 -m axon train config.yaml":
        "tests/dist/test_cli.py runs this torchrun line and compares its weights with `--nproc 2`'s",
    "torchrun --standalone --nproc-per-node 2 -m axon train examples/googlenet-pipeline.yaml":
        "`axon train examples/googlenet-pipeline.yaml --nproc 2` runs it; torchrun's launch is tested in "
        "tests/dist/test_cli.py",
    "axon train examples/googlenet-pipeline.yaml --nproc 4":
        "4 processes (2 pipelines of 2 stages): tests/dist/test_pipeline.py trains data_parallel: 2",
    "axon spark-train config.yaml --num-processes 2 --master 'local[2]'":
        "pyspark is not installed in CI (the `spark` extra); tests/dist/test_spark.py runs it where it is",
    "spark-submit --master spark://head:7077 $(which axon) spark-train config.yaml --num-processes 8":
        "needs a Spark cluster",
    "axon pvm run examples/pvm/large.json --procs 8 --nnodes 2 --node-rank 0 --master node0:29500 --out /shared/pvm":
        "needs two machines",
    "axon pvm run examples/pvm/large.json --procs 8 --nnodes 2 --node-rank 1 --master node0:29500 --out /shared/pvm":
        "needs two machines",
    "torchrun --nnodes 2 --nproc-per-node 8 --node-rank 0 --master-addr node0 --master-port 29500 "
    "-m axon pvm run examples/pvm/large.json --out /shared/pvm": "needs two machines",
    "axon classic foraging [--bees 1000] [--visits 200] [--swap-at 100] [--eps 0.5] [--beta 1]":
        "the synopsis: `axon classic foraging` runs at docs/td.md:147",
    "axon classic rbm --nudged":
        "scikit-learn's nudged-digits example has a fixed size (logistic regression at C 6000 on 7,200 digits: "
        "100 CPU-s); tests/classic/test_rbm.py runs it at C 100, and `axon classic rbm` runs (docs/classic.md:365)",
    "axon bench conformance":
        "every case and check of the battery (19 CPU-s): tests/bench/test_conformance.py runs each one; "
        "`axon bench conformance --case googlenet --check gradients` runs (docs/nn.md:167)",
    "axon pvm run examples/pvm/seed-small.json --shell 9000":
        "serves the debug shell until a client says quit: tests/pvm's shell tests drive it",
}

# example configs, copied into the document's folder with these keys changed, and why
EXAMPLE_CHANGES = {
    "examples/googlenet-pipeline.yaml": (
        {"epochs": 1, "data": {"train": 96, "val": 32, "test": 32}},
        "4 epochs of 4000 images take 2.4 min on 2 idle cores; 96 images run both stages, eval included"),
    "examples/detect/pointpillars-synth-cpu.yaml": (
        {"epochs": 1},
        "14 epochs of 300 scenes take 23 min; one epoch of the 12 scenes made above"),
}

# the data the documents tell their reader to have, made before the document's commands run
PHOTOS = '''
import numpy as np
from PIL import Image
from pathlib import Path

def photos(root, count, kinds=(("cat", "jpg"), ("dog", "png"), ("fox", "png"))):
    yy, xx = np.mgrid[:72, :72]
    shapes = [(yy - 36) ** 2 + (xx - 36) ** 2 < 400, (abs(yy - 36) < 18) & (abs(xx - 36) < 18), xx // 6 % 2 == 0]
    rng = np.random.default_rng(0)
    for (name, ext), mask in zip(kinds, shapes):
        (Path(root) / name).mkdir(parents=True)
        for i in range(count):
            pixels = rng.integers(0, 90, (72, 72, 3))
            pixels[mask] += 150
            Image.fromarray(pixels.astype(np.uint8)).save(Path(root) / name / f"{i:04d}.{ext}")
'''
CONFIG_YAML = "epochs: 1\nmodel: {name: digits-mlp}\n"  # the reader's config.yaml: the digits, one epoch
SETUP = {
    "README.md": PHOTOS + f'''
photos("photos", 10)
Image.open("photos/cat/0000.jpg").save("new.jpg")
Path("config.yaml").write_text({CONFIG_YAML!r})
from sklearn.datasets import load_digits
np.save("digit.npy", load_digits().images[0])
''',
    "docs/data.md": PHOTOS + 'photos("photos/train", 10)\n',
    "docs/distributed.md": f'from pathlib import Path\nPath("config.yaml").write_text({CONFIG_YAML!r})\n',
    "docs/pvm.md": f'import shutil\nshutil.copy({str(ROOT / "tests/pvm/fixtures/original_experiment1.json")!r}, '
                   '"ORIGINAL.json")  # an original model file (tests/pvm/fixtures)\n',
}
# the README's Python example, run before the commands that use its run folder, with this change
PYTHON_RUN = ("axon eval runs/py", "epochs=20", "epochs=2", "2 epochs instead of 20")



def python_example() -> str:
    text = (ROOT / "README.md").read_text()
    code = next(block.group(1) for block in FENCE.finditer(text) if 'run_dir="runs/py"' in block.group(1))
    _, old, new, _ = PYTHON_RUN
    assert old in code, f"README.md's Python example no longer has {old}"
    return code.replace(old, new)


def heredocs(path: Path) -> list[tuple[int, str, str]]:
    """(line, file name, text) of each `cat > FILE <<'EOF' ... EOF` of a document."""
    text = path.read_text()
    return [(text[: m.start()].count("\n") + 1, m.group(1), m.group(2))
            for m in re.finditer(r"^cat > (\S+) <<'EOF'\n(.*?)^EOF$", text, re.S | re.M)]


def complete(argv: str) -> bool:
    """Whether an inline span is a whole command (it parses as it stands)."""
    if PLACEHOLDER.search(argv):
        return False
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            PARSER.parse_args(shlex.split(argv))
    except SystemExit as exit:
        return exit.code == 0
    return True


def with_threads(argv: list[str]) -> list[str]:
    """argv with `--threads 1` added where the subcommand takes it and it is not given."""
    sub, _ = subparser(PARSER, [w for w in argv if not w.startswith("-")][:3])
    takes = any("--threads" in action.option_strings for action in sub._actions)
    return argv + ["--threads", "1"] if takes and "--threads" not in argv and "--help" not in argv else argv


def step(where: str, command: str) -> dict:
    """The step running one command: `axon ...` in the document's interpreter, torchrun as a
    subprocess (its processes run `python -m axon ...`)."""
    words = shlex.split(command)
    if words[0] == "torchrun":
        return dict(where=where, shown=command, kind="exec", argv=[sys.executable, "-m", "torch.distributed.run",
                                                                   *words[1:]])
    assert words[0] == "axon", f"{where}: `{command}` is no axon command: give it a SKIP reason"
    return dict(where=where, shown=command, kind="axon", argv=with_threads(words[1:]))


def plan() -> tuple[dict[str, list[dict]], list[tuple[str, str, str]]]:
    """Each document's steps, and (where, command, why) of every shown command that does not
    run as shown (RUN_AS, SKIP, shown earlier, or an inline mention)."""
    steps, notes, first = {}, [], {}
    for path in DOCS:
        name = str(path.relative_to(ROOT))
        doc = [dict(where=f"{name} (setup)", shown="the files the document assumes", kind="python",
                    code=SETUP[name])] if name in SETUP else []
        files = {line: dict(where=f"{name}:{line}", shown=f"cat > {file}", kind="file", path=file, text=text)
                 for line, file, text in heredocs(path)}
        for shown in [s for s in ALL_SHOWN if s.where.startswith(f"{name}:")]:
            line = int(shown.where.split(":")[1])
            for at in sorted(l for l in files if l < line):
                doc.append(files.pop(at))
            key = shown.key
            if shown.inline and key not in RUN_AS and key not in SKIP and not complete(shown.argv):
                notes.append((shown.where, key, "a command named in a sentence, not a whole one"))
                continue
            if key in first:
                notes.append((shown.where, key, f"shown first at {first[key]}"))
                continue
            first[key] = shown.where
            if key in SKIP:
                notes.append((shown.where, key, SKIP[key]))
                continue
            if name == "README.md" and key == PYTHON_RUN[0]:
                doc.append(dict(where=f"{name}: the Python example", shown="trainer.fit(..., run_dir='runs/py')",
                                kind="python", code=python_example()))
            command = key
            if key in RUN_AS:
                command, why = RUN_AS[key]
                notes.append((shown.where, key, f"runs as `{command}`: {why}"))
            for part in command.split(" && "):
                doc.append({**step(shown.where, part), "documented": key})
        steps[name] = doc
    return steps, notes


PARSER = build_parser()
ALL_SHOWN = documented_commands(inline=True)
STEPS, NOTES = plan()


def test_every_command_is_run_or_has_a_reason():
    ran = {(step["where"], step["documented"]) for doc in STEPS.values() for step in doc if "documented" in step}
    noted = {(where, key) for where, key, reason in NOTES if reason}
    unaccounted = [f"{s.where}: {s.key}" for s in ALL_SHOWN if (s.where, s.key) not in ran | noted]
    assert not unaccounted, f"shown commands neither run nor given a reason: {unaccounted}"
    keys = {shown.key for shown in ALL_SHOWN}
    stale = sorted((set(RUN_AS) | set(SKIP)) - keys)
    assert not stale, f"RUN_AS/SKIP entries no document shows any more: {stale}"
    assert not set(RUN_AS) & set(SKIP)
    templates = [f"{s.where}: {s.key}" for s in ALL_SHOWN if not s.inline and PLACEHOLDER.search(s.argv)
                 and s.key not in RUN_AS and s.key not in SKIP]
    assert not templates, f"commands with placeholders need a RUN_AS or SKIP entry: {templates}"
    runs = sum(step["kind"] == "axon" for doc in STEPS.values() for step in doc)
    assert runs >= 60, runs
    for example in EXAMPLE_CHANGES:
        assert (ROOT / example).is_file(), example


# files some of the commands must have written (a cheap check that they did their work)
EXPECTED = {
    "README.md": ["last.png", "runs/py/eval_best.json", "runs/py/export/model.onnx", "runs/photos/eval_best.json",
                  "runs/photos/export/model.onnx", "runs/googlenet-pipeline/eval_best.json", "runs/lr_find-*.png"],
    "docs/classic.md": ["runs/classic/voting.safetensors", "figs/voting_weights.png", "runs/classic/hopfield_capacity.png",
                        "runs/classic/rbm_filters_gaussian.png"],
    "docs/detect.md": ["scene.png", "runs/pointpillars-synth-cpu/eval_best.json",
                       "runs/pointpillars-synth-cpu/predictions/000011.txt",
                       "runs/pointpillars-synth-cpu/export/pointpillars_detector.onnx"],
    "docs/pvm.md": ["model.json", "runs/pvm/small/errors.png", "runs/pvm/small/snapshots/dream/dream.png",
                    "runs/pvm/small/snapshots/fill/fill.png", "runs/pvm/tracker/snapshots/track/track.png",
                    "runs/pvm/scaling/scaling.png"],
    "docs/td.md": ["runs/td/dopamine.png", "runs/td/random_walk_19.png", "runs/td/win_rates.png"],
}
# documents whose commands take more than about 10 CPU-s together (measured)
SLOW = {"README.md", "docs/classic.md", "docs/detect.md", "docs/distributed.md", "docs/pvm.md", "docs/speedups.md",
        "docs/td.md"}


def change_examples(folder: Path) -> None:
    import yaml

    for name, (changes, _) in EXAMPLE_CHANGES.items():
        config = yaml.safe_load((folder / name).read_text())
        for key, value in changes.items():
            config[key] = {**config[key], **value} if isinstance(value, dict) else value
        (folder / name).write_text(yaml.safe_dump(config))


@pytest.mark.parametrize("doc", [pytest.param(doc, marks=[pytest.mark.slow] if doc in SLOW else [])
                                 for doc, steps in STEPS.items() if any(s["kind"] == "axon" for s in steps)])
def test_document_runs(doc, tmp_path):
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    change_examples(tmp_path)
    (tmp_path / "steps.json").write_text(json.dumps(STEPS[doc]))
    done = subprocess.run([sys.executable, str(ROOT / "tests" / "docs_steps.py"), "steps.json"], cwd=tmp_path,
                          capture_output=True, text=True, env={**os.environ, "MPLBACKEND": "Agg"})
    assert done.returncode == 0, f"{doc}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    missing = [pattern for pattern in EXPECTED.get(doc, []) if not list(tmp_path.glob(pattern))]
    assert not missing, f"{doc}: the commands ran but did not write {missing}"
