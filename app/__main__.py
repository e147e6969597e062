"""Management commands: `python -m app import-peps [PATH_OR_URL]`, `create-superuser`, `set-password`,
`openapi`, `new-resource NAME FIELD:TYPE ... [--owned] [--dry-run]`, `jobs failed`, `jobs retry KEY... | --all`."""

import argparse
import asyncio
import getpass
import os
import sys
from collections.abc import Coroutine
from datetime import UTC, datetime
from pathlib import Path

from pydantic import TypeAdapter, ValidationError
from sqlalchemy.exc import DBAPIError

from app.config import ConfigError, debug_requested, get_settings
from app.db import dispose_engine, get_engine, session_scope
from app.errors import AppError, is_database_unavailable
from app.jobs.queue import failed_jobs, get_queue, retry_failed_job
from app.openapi import SNAPSHOT_PATH, app_document, as_json, update_snapshot
from app.peps.importer import BUNDLED_PEPS, PepDataError, import_peps, parse_feed, read_source, refresh_statistics
from app.startup import SchemaOutOfDateError, prepare_database, why_unavailable
from app.users.models import Password
from app.users.service import ensure_superuser, set_password_by_email

# Read by `set-password`; an environment variable, because a password on the command line shows in `ps`.
NEW_PASSWORD_VARIABLE = "NEW_PASSWORD"


class CommandError(Exception):
    """A command failed for a reason the user can fix; the message says what."""


def show_progress(done: int, total: int) -> None:
    print(f"  {done}/{total} PEPs processed", file=sys.stderr)


async def import_peps_command(source: str) -> str:
    peps = parse_feed(read_source(source), source)
    print(f"Read {len(peps)} PEPs from {source}.", file=sys.stderr)
    async with session_scope() as session:
        report = await import_peps(session, peps, progress=show_progress if len(peps) > 200 else None)
    await refresh_statistics(get_engine())
    return report.summary()


async def create_superuser_command(email: str, password: str) -> str:
    async with session_scope() as session:
        return await ensure_superuser(session, email, password)


async def set_password_command(email: str, password: str) -> str:
    async with session_scope() as session:
        return await set_password_by_email(session, email, password)


async def failed_jobs_command() -> str:
    """One line per job that used up its retries: key, function, attempts, when, and its error's last line."""
    lines = []
    for job in await failed_jobs(get_queue()):
        ended = (
            datetime.fromtimestamp(job.completed / 1000, UTC).isoformat(timespec="seconds") if job.completed else "?"
        )
        error = (job.error or job.status.value).strip().splitlines()[-1]
        lines.append(f"{job.key}  {job.function}  {job.attempts} attempts, {job.status.value} {ended}: {error}")
    return "\n".join(lines) if lines else "No failed jobs."


async def retry_jobs_command(keys: list[str], every: bool) -> str:
    """Queue failed jobs again, each with its whole retry budget."""
    queue = get_queue()
    if every:
        keys = [job.key for job in await failed_jobs(queue)]
    retried = [key for key in keys if await retry_failed_job(queue, key) is not None]
    unknown = [key for key in keys if key not in retried]
    if unknown:
        raise CommandError(f"no failed job has the key {', '.join(unknown)} (see `python -m app jobs failed`)")
    return f"Queued {len(retried)} job(s) again." if retried else "No failed jobs."


async def run_with_database(command: Coroutine[None, None, str]) -> str:
    """Bring the schema up to date (SQLite) or check it, run the command, and report failures plainly."""
    try:
        await prepare_database(get_engine(), get_settings(), seed=False)
        return await command
    except Exception as error:
        if get_settings().debug:  # DEBUG=true keeps the traceback
            raise
        if isinstance(error, PepDataError | SchemaOutOfDateError | ValidationError | AppError):
            raise CommandError(f"{str(error).rstrip('.')}. Nothing was written.") from None
        if is_database_unavailable(error):
            fix = (
                " Check DATABASE_URL, and that the database server is running."
                if "reach" in why_unavailable(error)
                else ""
            )
            raise CommandError(f"{why_unavailable(error)}. Nothing was written.{fix}") from None
        if isinstance(error, DBAPIError) and error.orig is not None:
            # A wrong database name or role, a permission: the server's own first line says which.
            first_line = str(error.orig).strip().splitlines()[0]
            raise CommandError(
                f"the database refused the command: {first_line}. Nothing was written. Check DATABASE_URL."
            ) from None
        raise
    finally:
        command.close()  # a command never started (the check failed) must not warn "never awaited"
        await dispose_engine()


def superuser_credentials(email: str | None) -> tuple[str, str]:
    settings = get_settings()
    email = email or settings.first_superuser_email
    if not email:
        raise CommandError("give --email or set FIRST_SUPERUSER_EMAIL")
    password = settings.first_superuser_password
    if not password:
        if not sys.stdin.isatty():
            raise CommandError("set FIRST_SUPERUSER_PASSWORD, or run this in a terminal to be asked for it")
        password = getpass.getpass(f"Password for {email}: ")
    return email, password


def new_password(email: str) -> str:
    """From NEW_PASSWORD, or asked twice in a terminal; checked against the rules sign-up applies."""
    password = os.environ.get(NEW_PASSWORD_VARIABLE)
    if not password:
        if not sys.stdin.isatty():
            raise CommandError(f"set {NEW_PASSWORD_VARIABLE}, or run this in a terminal to be asked for it")
        password = getpass.getpass(f"New password for {email}: ")
        if getpass.getpass("The same again: ") != password:
            raise CommandError("the two passwords differ. Nothing was written.")
    try:
        return TypeAdapter(Password).validate_python(password)
    except ValidationError as error:
        raise CommandError(
            f"the password is not acceptable: {error.errors()[0]['msg']}. Nothing was written."
        ) from None


def openapi_command(output: str | None, update: bool) -> None:
    """Write the document (to stdout without --output) and, asked to, the snapshot of its names."""
    document = app_document()
    if output:
        Path(output).write_text(as_json(document), encoding="utf-8")
        print(f"Wrote the OpenAPI document to {output}.", file=sys.stderr)
    elif not update:
        sys.stdout.write(as_json(document))
    if update:
        print(f"Updated {update_snapshot(SNAPSHOT_PATH, document)}; commit it with the change.", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app", description="PEP catalogue management commands.")
    commands = parser.add_subparsers(dest="command", required=True)
    importer = commands.add_parser("import-peps", help="Insert or update PEPs from a peps.json file or URL.")
    importer.add_argument(
        "source", nargs="?", default=str(BUNDLED_PEPS), help="A path or http(s) URL (default: the bundled file)."
    )
    superuser = commands.add_parser(
        "create-superuser",
        help="Create the superuser (or promote an existing account); password from FIRST_SUPERUSER_PASSWORD or a prompt.",
    )
    superuser.add_argument("--email", help="The account's email (default: FIRST_SUPERUSER_EMAIL).")
    password = commands.add_parser(
        "set-password",
        help=f"Set a user's password and sign them out everywhere; from {NEW_PASSWORD_VARIABLE} or a prompt.",
    )
    password.add_argument("--email", required=True, help="The account's email.")
    openapi = commands.add_parser(
        "openapi", help="Print or write the OpenAPI document, from the app itself: no server or database needed."
    )
    openapi.add_argument("--output", help="Write it to this file instead of printing it.")
    openapi.add_argument(
        "--update-snapshot",
        action="store_true",
        help=f"Record the operationIds and schema names in {SNAPSHOT_PATH.name}: a deliberate change to the API.",
    )
    generator = commands.add_parser(
        "new-resource",
        help="Write a complete resource: model, service, routes, tests, migration; registered in the app.",
        description="Types: str, text, int, float, bool, date, datetime, ref:pep, ref:author. "
        "Modifiers: optional, unique, index. Example: new-resource Bookmark url:str:unique title:str pep:ref:pep",
    )
    generator.add_argument("name", help="The resource's name, singular: Bookmark, ReadingList.")
    generator.add_argument("fields", nargs="+", metavar="FIELD:TYPE[:MODIFIER...]", help="Its fields: title:str")
    generator.add_argument("--owned", action="store_true", help="Each user's own rows, under /me/<plural>.")
    generator.add_argument("--dry-run", action="store_true", help="Show what would be written; write nothing.")
    generator.add_argument("--plural", help="The plural, when adding s, es or ies is wrong: --plural shelves.")
    jobs = commands.add_parser("jobs", help="Background jobs that failed: list them, or queue them again.")
    job_commands = jobs.add_subparsers(dest="jobs_command", required=True)
    job_commands.add_parser("failed", help="List the jobs that used up their retries, with their last error.")
    retry = job_commands.add_parser("retry", help="Queue failed jobs again, each with its whole retry budget.")
    retry.add_argument("keys", nargs="*", metavar="KEY", help="The jobs' keys, as `jobs failed` lists them.")
    retry.add_argument("--all", action="store_true", help="Every failed job.")
    args = parser.parse_args(argv)
    if args.command == "jobs" and args.jobs_command == "retry" and bool(args.keys) == args.all:
        parser.error("jobs retry: give the keys of the jobs, or --all")
    if args.command == "openapi":
        openapi_command(args.output, args.update_snapshot)
        return 0
    try:
        if args.command == "new-resource":
            # Imported here: the generator needs the development tools (ruff), which a deployment lacks.
            from app.generator.resource import GeneratorError, new_resource

            try:
                print(new_resource(args.name, args.fields, args.owned, args.dry_run, args.plural))
            except GeneratorError as error:
                raise CommandError(f"{error}. Nothing was written.") from None
            return 0
        if args.command == "import-peps":
            command = import_peps_command(args.source)
        elif args.command == "jobs":
            command = (
                failed_jobs_command() if args.jobs_command == "failed" else retry_jobs_command(args.keys, args.all)
            )
        elif args.command == "set-password":
            command = set_password_command(args.email, new_password(args.email))
        else:
            command = create_superuser_command(*superuser_credentials(args.email))
        print(asyncio.run(run_with_database(command)))
    except CommandError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except ConfigError as error:
        if debug_requested():
            raise
        print(f"error: {error.with_fix()}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
