"""The ``imgbot`` command line."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bot.core.playbooks.loader import PlaybookLoadError, load_playbooks, shipped_playbooks_dir


def _validate(args: argparse.Namespace) -> int:
    directory = Path(args.dir) if args.dir else shipped_playbooks_dir()
    try:
        library = load_playbooks(directory)
    except PlaybookLoadError as exc:
        for err in exc.errors:
            print(err)
        print(f"{len(exc.errors)} problem(s) in {directory}", file=sys.stderr)
        return 1
    print(f"ok: {len(library)} playbook(s) in {directory}: {', '.join(library.ids)}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="imgbot", description="IMG Peer Bot")
    sub = parser.add_subparsers(dest="cmd", required=True)
    pb = sub.add_parser("playbooks", help="work with playbook files")
    pb_sub = pb.add_subparsers(dest="pb_cmd", required=True)
    val = pb_sub.add_parser("validate", help="check every playbook file")
    val.add_argument("dir", nargs="?", help="playbook directory (default: the shipped one)")
    val.set_defaults(func=_validate)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
