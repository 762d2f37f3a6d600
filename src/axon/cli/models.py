"""`axon models`: the zoo's model names with parameter counts, or one model's layer table."""

from __future__ import annotations

import json

from axon.cli import common_options
from axon.errors import ConfigError


def _parse_set(items: list[str]) -> dict:
    """`key=value` pairs; values are read as JSON when they parse (64, true, [1, 8, 8]), else as strings."""
    kwargs = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"--set: expected key=value, got {item!r}")
        try:
            kwargs[key] = json.loads(value)
        except json.JSONDecodeError:
            kwargs[key] = value
    return kwargs


def run_models(args) -> int:
    from axon import zoo
    from axon.nn import Model, count_parameters

    kwargs = _parse_set(args.set)
    if args.name is None:
        if kwargs:
            raise ConfigError("--set: give a model NAME to build with these arguments")
        rows = [("name", "parameters", "multiply-adds", "description")]
        for name in zoo.names():
            model = zoo.create(name)
            macs = f"{model.multiply_adds():,}" if isinstance(model, Model) else "-"
            rows.append((name, f"{count_parameters(model):,}", macs, zoo.describe(name)))
        widths = [max(len(r[i]) for r in rows) for i in range(3)]
        for r in rows:
            print(f"{r[0].ljust(widths[0])}  {r[1].rjust(widths[1])}  {r[2].rjust(widths[2])}  {r[3]}")
        return 0
    model = zoo.create(args.name, **kwargs)
    print(f"{args.name}: {zoo.describe(args.name)}")
    if isinstance(model, Model):
        model.summary()
    else:
        print(model)
        print(f"parameters: {count_parameters(model):,}")
    return 0


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "models", parents=[common_options()],
        help="list the zoo's models with parameter counts, or show one model's layers",
        description="Without NAME: every registered model (built with default arguments) with its "
        "parameter count, multiply-adds per sample and description. With NAME: that model's layer "
        "table (name, type, output shape, parameters, multiply-adds) with totals.",
    )
    parser.add_argument("name", nargs="?", metavar="NAME", help="a zoo model name, e.g. googlenet")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="a builder argument for NAME (repeatable), value read as JSON when it parses, "
                        "e.g. --set image_size=64 --set aux_logits=true")
    parser.set_defaults(func=run_models)
