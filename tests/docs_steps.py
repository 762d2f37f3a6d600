"""Runs one document's steps in the current folder, in order, in this one process:
`python docs_steps.py STEPS.json`. Each step is {"where", "kind", ...}:

- kind "axon": {"argv": [...]}: `axon.cli.main(argv)`, exactly what `python -m axon` runs
  (one interpreter per document, so torch is imported once, not once per command); words
  with `*` are expanded as the shell would (sorted; the first match);
- kind "exec": {"argv": [...]}: a subprocess (torchrun's launcher);
- kind "python": {"code": "..."}: executed as a script;
- kind "file": {"path", "text"}: written (a heredoc of the document).

Prints one line per step with its CPU and wall seconds; stops at the first step that
fails, with exit code 3 and a line naming it."""

import glob
import json
import subprocess
import sys
import time
from pathlib import Path


def run_axon(argv: list[str]) -> int:
    from axon.cli import main

    argv = [sorted(glob.glob(word))[0] if "*" in word and glob.glob(word) else word for word in argv]
    try:
        return main(argv)
    except SystemExit as exit:  # argparse: --help, or a usage error
        return exit.code if isinstance(exit.code, int) else 1


def run_step(step: dict) -> int:
    if step["kind"] == "axon":
        return run_axon(step["argv"])
    if step["kind"] == "exec":
        return subprocess.run(step["argv"]).returncode
    if step["kind"] == "python":
        exec(compile(step["code"], step["where"], "exec"), {"__name__": "__main__"})
        return 0
    Path(step["path"]).write_text(step["text"])
    return 0


def main() -> int:
    steps = json.loads(Path(sys.argv[1]).read_text())
    for step in steps:
        print(f"=== {step['where']}: {step['shown']}", flush=True)
        cpu, wall = time.process_time(), time.perf_counter()
        code = run_step(step)
        print(f"=== {step['where']}: exit {code}, {time.process_time() - cpu:.1f} CPU-s (this process), "
              f"{time.perf_counter() - wall:.1f} s", flush=True)
        if code != 0:
            print(f"STEP FAILED: {step['where']}: {step['shown']} (exit {code})", flush=True)
            return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
