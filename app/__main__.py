"""Management commands: `python -m app import-peps [PATH_OR_URL]`."""

import argparse
import asyncio
import sys

from app.config import get_settings
from app.db import dispose_engine, get_engine, session_scope
from app.errors import is_database_unavailable, short_reason
from app.peps.importer import BUNDLED_PEPS, PepDataError, import_peps, parse_feed, read_source
from app.startup import SchemaOutOfDateError, prepare_database


class CommandError(Exception):
    """A command failed for a reason the user can fix; the message says what."""


def show_progress(done: int, total: int) -> None:
    print(f"  {done}/{total} PEPs processed", file=sys.stderr)


async def import_peps_command(source: str) -> str:
    try:
        peps = parse_feed(read_source(source), source)
        print(f"Read {len(peps)} PEPs from {source}.", file=sys.stderr)
        await prepare_database(get_engine(), get_settings(), seed=False)
        async with session_scope() as session:
            report = await import_peps(session, peps, progress=show_progress if len(peps) > 200 else None)
        return report.summary()
    except (PepDataError, SchemaOutOfDateError) as error:
        raise CommandError(f"{str(error).rstrip('.')}. Nothing was written.") from None
    except Exception as error:
        if is_database_unavailable(error):
            raise CommandError(f"cannot reach the database ({short_reason(error)}). Nothing was written.") from None
        raise
    finally:
        await dispose_engine()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app", description="PEP catalogue management commands.")
    commands = parser.add_subparsers(dest="command", required=True)
    importer = commands.add_parser("import-peps", help="Insert or update PEPs from a peps.json file or URL.")
    importer.add_argument(
        "source", nargs="?", default=str(BUNDLED_PEPS), help="A path or http(s) URL (default: the bundled file)."
    )
    args = parser.parse_args(argv)
    try:
        print(asyncio.run(import_peps_command(args.source)))
    except CommandError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
