"""`axon datasets`: the registered data sets with their arguments, one data set's
arguments, or (with --set) a check that reads the user's files and summarises the splits."""

from __future__ import annotations

from axon.cli import common_options
from axon.cli.models import _parse_set


def _arguments(info, required) -> str:
    return ", ".join(arg if default is required else f"{arg}={default!r}" for arg, default in info.arguments.items())


def run_datasets(args) -> int:
    from axon.data import build_dataset, dataset_names, describe_dataset
    from axon.data.registry import REQUIRED
    from axon.errors import ConfigError

    kwargs = _parse_set(args.set)
    if args.name is None:
        if kwargs:
            raise ConfigError("--set: give a data set NAME to read with these arguments")
        for name in dataset_names():
            info = describe_dataset(name)
            print(f"{name}: {info.summary}")
            print(f"    {_arguments(info, REQUIRED) or '(no arguments)'}")
        return 0
    info = describe_dataset(args.name)
    if not kwargs and info.required:
        print(f"{info.name}: {info.summary}")
        print(f"arguments: {_arguments(info, REQUIRED)}")
        print(f"required: {', '.join(info.required)} (read the files with --set {info.required[0]}=...)")
        return 0
    splits = build_dataset(args.name, **kwargs)
    sizes = ", ".join(f"{part} {len(data) if data is not None else '-'}"
                      for part, data in (("train", splits.train), ("val", splits.val), ("test", splits.test)))
    shown = ", ".join(splits.classes[:10]) + (f", ... ({len(splits.classes)} in all)" if len(splits.classes) > 10 else "")
    print(f"{info.name}: {sizes}")
    print(f"input shape: {list(splits.input_shape)}")
    print(f"classes: {shown}")
    print(f"preprocessing: {splits.preprocessing}")
    return 0


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "datasets", parents=[common_options()],
        help="list the data sets with their arguments, or read one and summarise its splits",
        description="Without NAME: every registered data set with its arguments (name=default; "
        "required arguments without one). With NAME: its arguments; with NAME and --set: read the "
        "files and print the split sizes, input shape, classes and preprocessing (a damaged file "
        "is named in a one-line error). The same names and arguments go in a run config's data "
        "section, e.g. data: {name: mnist, root: data/mnist}.",
    )
    parser.add_argument("name", nargs="?", metavar="NAME", help="a data set name, e.g. image_folder")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="a reader argument (repeatable), value read as JSON when it parses, "
                        "e.g. --set root=photos --set crop=64")
    parser.set_defaults(func=run_datasets)
