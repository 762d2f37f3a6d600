"""`axon bench conformance`: run the conformance battery and print its table."""

from __future__ import annotations

import sys

from axon.cli import common_options
from axon.errors import ConfigError

MARKS = {"pass": "ok", "fail": "FAIL", "skip": "skip"}


def _select(args):
    from axon.bench.conformance import CASES, CHECKS

    cases = [c for c in CASES if not args.case or any(s.lower() in c.name.lower() for s in args.case)]
    if not cases:
        raise ConfigError(f"--case: no case matches {args.case} (cases: {', '.join(c.name for c in CASES)})")
    for check in args.check:
        if check not in CHECKS:
            raise ConfigError(f"--check: unknown check {check!r} (known: {', '.join(CHECKS)})")
    return cases, args.check or list(CHECKS)


def format_table(results, checks: list[str]) -> str:
    """Cases as rows, checks as columns, `ok` / `FAIL` / `skip` in the cells (plain text)."""
    cases = list(dict.fromkeys(r.case for r in results))
    cell = {(r.case, r.check): MARKS[r.status] for r in results}
    rows = [["case", *checks]] + [[c, *[cell.get((c, k), "") for k in checks]] for c in cases]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip() for r in rows)


def run_conformance(args) -> int:
    from axon.bench.conformance import run_battery

    cases, checks = _select(args)
    tty = sys.stdout.isatty()
    if tty:
        from rich.progress import Progress

        with Progress(transient=True) as progress:
            task = progress.add_task("conformance", total=len(cases) * len(checks))
            results = run_battery(cases, checks, on_result=lambda r: progress.update(
                task, advance=1, description=f"{r.case}: {r.check}"))
    else:
        def report(result) -> None:
            if result.check == checks[-1]:
                print(f"checked {result.case}", flush=True)

        results = run_battery(cases, checks, on_result=report)
    print(format_table(results, checks))
    failures = [r for r in results if r.status == "fail"]
    skipped = {r.detail for r in results if r.status == "skip"}
    for r in failures:
        print(f"FAIL {r.case} / {r.check}: {r.detail}")
    for why in sorted(skipped):
        print(f"skipped: {why}")
    passed = sum(r.status == "pass" for r in results)
    print(f"{passed} passed, {len(failures)} failed, {len(results) - passed - len(failures)} skipped "
          f"({len(cases)} cases x {len(checks)} checks)")
    return 1 if failures else 0


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "bench", parents=[common_options()], help="conformance battery and benchmarks",
        description="Checks and benchmarks of axon's layers and models.",
    )
    commands = parser.add_subparsers(dest="bench_command", metavar="BENCH", required=True)
    conformance = commands.add_parser(
        "conformance", parents=[common_options()],
        help="run the conformance battery on every layer and zoo model",
        description="Runs axon.bench.conformance: finite-difference gradients (float64), batch "
        "invariance, spec round trip, determinism, PyTorch references, bfloat16, CUDA vs CPU. "
        "Prints a table of cases by checks; exits 1 if any check fails.",
    )
    conformance.add_argument("--case", action="append", default=[], metavar="TEXT",
                             help="only cases whose name contains TEXT (case-insensitive; repeatable)")
    conformance.add_argument("--check", action="append", default=[], metavar="NAME",
                             help="only this check (repeatable): shapes, gradients, batch_invariance, "
                             "spec_round_trip, determinism, reference, bfloat16, cuda")
    conformance.set_defaults(func=run_conformance)
