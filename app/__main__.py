"""Management commands: `python -m app import-peps [PATH_OR_URL]`."""

import argparse
import asyncio
import sys

from app.db import dispose_engine, session_scope
from app.peps.importer import BUNDLED_PEPS, PepDataError, import_peps, parse_feed, read_source


async def import_peps_command(source: str) -> int:
    try:
        peps = parse_feed(read_source(source), source)
    except PepDataError as error:
        print(f"error: {error}. Nothing was written.", file=sys.stderr)
        return 1
    print(f"Read {len(peps)} PEPs from {source}.", file=sys.stderr)

    def show_progress(done: int, total: int) -> None:
        print(f"  {done}/{total} PEPs processed", file=sys.stderr)

    try:
        async with session_scope() as session:
            report = await import_peps(session, peps, progress=show_progress if len(peps) > 200 else None)
    except PepDataError as error:
        print(f"error: {error}. Nothing was written.", file=sys.stderr)
        return 1
    finally:
        await dispose_engine()
    print(report.summary())
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app", description="PEP catalogue management commands.")
    commands = parser.add_subparsers(dest="command", required=True)
    importer = commands.add_parser("import-peps", help="Insert or update PEPs from a peps.json file or URL.")
    importer.add_argument(
        "source", nargs="?", default=str(BUNDLED_PEPS), help="A path or http(s) URL (default: the bundled file)."
    )
    args = parser.parse_args(argv)
    if args.command == "import-peps":
        return asyncio.run(import_peps_command(args.source))
    return 2


if __name__ == "__main__":
    sys.exit(main())
