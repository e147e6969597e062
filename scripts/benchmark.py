"""Measure the API's throughput against a raw-driver baseline, on SQLite or PostgreSQL, in one run.

    python scripts/benchmark.py --database sqlite
    python scripts/benchmark.py --database postgresql [--admin-url postgresql://postgres@127.0.0.1:5432/postgres]

It makes a fresh database (a temporary SQLite file, or a new PostgreSQL database it drops afterwards),
starts the app under uvicorn with one worker, and starts scripts/benchmark_baseline.py (bare Starlette
and the raw driver) on the same database. For every path it first checks that both answer the same
JSON, then drives each with wrk (`apt-get install wrk`): a warm-up, then the measured run. It prints
requests/s, p50 and p99 latency, non-2xx answers, server CPU time per request, and the app's ratio to
the baseline; then the app's memory (RSS) before and after. Both servers run without access logs.

Numbers are only comparable within one run: the ratio column is the figure to quote. It exits non-zero
if the two servers disagree on a response, a request fails, or a server dies; it asserts nothing about
speed (CI runs it briefly so that it keeps working).

    python scripts/benchmark.py --scale --database sqlite [--scale-peps 99263] [--scale-notes 1000000]

`--scale` measures instead how reads grow with the data: the median latency of single, sequential
requests (one client, so the load generator costs nothing) at the bundled 737 PEPs and 1,000 notes,
then again after importing a feed of the bundled PEPs and `--scale-peps` synthetic ones (the bundled
records renumbered 10000-99999, then with the numbers below 10000 that no real PEP has: 100,000 PEPs
in all by default), through `python -m app import-peps`, whose time and peak memory it reports, and giving the user
`--scale-notes` notes in all (one bulk INSERT ... SELECT). It exits non-zero if a request fails or the
import's peak memory exceeds `--max-import-mb`.
"""

import argparse
import asyncio
import itertools
import json
import math
import os
import re
import secrets
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import asyncpg
import httpx
from local_services import admin_sql, free_port, stop

PROJECT_ROOT = Path(__file__).resolve().parent.parent
USER = {"email": "benchmark@example.com", "password": "benchmark password"}
READ_PATHS = [
    "/peps/484",
    "/peps?limit=20&offset=100",
    "/peps?status=Final&sort=-created&limit=20",
    "/peps?limit=100",
    "/authors?sort=-pep_count",
    "/me/notes",
]
# Read again with If-None-Match: answered 304 with no body (docs/performance.md).
CONDITIONAL_PATHS = ["/peps?limit=100", "/peps/484"]
NOTE = {"pep_number": 8, "body": "A note written by the benchmark."}
# Fields that differ between two servers by construction (each write makes its own row).
PER_WRITE_FIELDS = {"id", "created_at", "updated_at"}


class BenchmarkFailed(Exception):
    pass


@dataclass
class Measurement:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    cpu_us_per_request: float


@dataclass
class Server:
    name: str
    base_url: str
    process: subprocess.Popen[bytes]

    def cpu_seconds(self) -> float:
        """User plus system CPU time the server process has used so far."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0


@contextmanager
def scratch_database(kind: str, admin_url: str, folder: Path) -> Iterator[str]:
    """A new, empty database URL, dropped afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'benchmark.db'}"
        return
    name = f"pep_benchmark_{uuid.uuid4().hex[:10]}"
    admin_sql(admin_url, f'CREATE DATABASE "{name}"')
    try:
        yield admin_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        admin_sql(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def serve(name: str, command: list[str], env: dict[str, str], port: int, log: Path) -> Iterator[Server]:
    with log.open("w") as output:
        process = subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=output, stderr=output)
    server = Server(name, f"http://127.0.0.1:{port}", process)
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise BenchmarkFailed(f"{name} exited during start-up:\n{log.read_text()}")
            try:
                httpx.get(f"{server.base_url}/peps/8", timeout=5)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise BenchmarkFailed(f"{name} did not start:\n{log.read_text()}") from None
                time.sleep(0.2)
        yield server
    finally:
        stop(process, seconds=20)


def sign_in(app: Server) -> str:
    registered = httpx.post(f"{app.base_url}/auth/register", json=USER, timeout=30)
    if registered.status_code != 201:
        raise BenchmarkFailed(f"sign-up failed: {registered.status_code} {registered.text}")
    return access_token(app)


def access_token(app: Server) -> str:
    form = {"username": USER["email"], "password": USER["password"]}
    signed_in = httpx.post(f"{app.base_url}/auth/token", data=form, timeout=30)
    if signed_in.status_code != 200:
        raise BenchmarkFailed(f"sign-in failed: {signed_in.status_code} {signed_in.text}")
    token: str = signed_in.json()["access_token"]
    return token


def comparable(body: object) -> object:
    """A response with the fields each write makes anew left out."""
    if isinstance(body, dict):
        return {key: comparable(value) for key, value in body.items() if key not in PER_WRITE_FIELDS}
    if isinstance(body, list):
        return [comparable(item) for item in body]
    return body


def same_page(body: object) -> object:
    """A response with its `next_cursor`, signed by the app alone, reduced to whether there is one."""
    if isinstance(body, dict) and "next_cursor" in body:
        return body | {"next_cursor": body["next_cursor"] is not None}
    return body


def check_same_answers(app: Server, baseline: Server, headers: dict[str, str]) -> None:
    for path in READ_PATHS:
        answers = [httpx.get(server.base_url + path, headers=headers, timeout=30) for server in (app, baseline)]
        if answers[0].status_code != 200 or same_page(answers[0].json()) != same_page(answers[1].json()):
            raise BenchmarkFailed(
                f"{path}: the app and the baseline disagree\napp:      {answers[0].text[:500]}\n"
                f"baseline: {answers[1].text[:500]}"
            )
    written = [httpx.post(server.base_url + "/me/notes", json=NOTE, headers=headers) for server in (app, baseline)]
    if written[0].status_code != 201 or comparable(written[0].json()) != comparable(written[1].json()):
        raise BenchmarkFailed(f"POST /me/notes: the app and the baseline disagree: {[w.text for w in written]}")


_DURATION = re.compile(r"([\d.]+)(us|ms|s)")
_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    match = _DURATION.fullmatch(text)
    if not match:
        raise BenchmarkFailed(f"unreadable wrk latency {text!r}")
    return float(match.group(1)) * _UNIT_MS[match.group(2)]


def run_wrk(url: str, seconds: float, connections: int, headers: dict[str, str], script: Path | None) -> str:
    command = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    if script is not None:
        command += ["-s", str(script)]
    return subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout


def measure(
    server: Server, path: str, args: argparse.Namespace, headers: dict[str, str], script: Path | None
) -> Measurement:
    if args.warmup > 0:
        run_wrk(server.base_url + path, args.warmup, args.connections, headers, script)
    cpu_before = server.cpu_seconds()
    output = run_wrk(server.base_url + path, args.duration, args.connections, headers, script)
    cpu_used = server.cpu_seconds() - cpu_before
    if server.process.poll() is not None:
        raise BenchmarkFailed(f"{server.name} died while serving {path}")

    def field(pattern: str) -> str:
        found = re.search(pattern, output, re.MULTILINE)
        if found is None:
            raise BenchmarkFailed(f"unexpected wrk output for {path}:\n{output}")
        return found.group(1)

    total = int(field(r"(\d+) requests in"))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    return Measurement(
        requests_per_second=float(field(r"Requests/sec:\s+([\d.]+)")),
        p50_ms=_ms(field(r"^\s+50%\s+(\S+)\s*$")),
        p99_ms=_ms(field(r"^\s+99%\s+(\S+)\s*$")),
        non_2xx=(int(non_2xx.group(1)) if non_2xx else 0) + (sum(map(int, errors.groups())) if errors else 0),
        cpu_us_per_request=cpu_used / max(total, 1) * 1e6,
    )


def measure_conditional_reads(app: Server, args: argparse.Namespace, full_rates: dict[str, float]) -> int:
    """The app's 304s (a client sending back the ETag it has) against its full answers: the rows' failures."""
    print("\nconditional reads: If-None-Match with the current ETag, answered 304 with no body")
    print(
        f"| {'request':<48} | {'304 req/s':>9} | {'p50 ms':>6} | {'p99 ms':>6} | {'non-2xx':>7} | {'full req/s':>10} | {'speed-up':>8} |"
    )
    print(f"|{'-' * 50}|{'-' * 11}:|{'-' * 7}:|{'-' * 7}:|{'-' * 8}:|{'-' * 11}:|{'-' * 9}:|")
    failures = 0
    for path in CONDITIONAL_PATHS:
        etag = httpx.get(app.base_url + path, timeout=30).headers["etag"]
        check = httpx.get(app.base_url + path, headers={"If-None-Match": etag}, timeout=30)
        if check.status_code != 304:
            raise BenchmarkFailed(f"{path}: If-None-Match with its own ETag answered {check.status_code}, not 304")
        ours = measure(app, path, args, {"If-None-Match": etag}, None)
        failures += ours.non_2xx
        speed_up = ours.requests_per_second / full_rates[path]
        print(
            f"| {'GET ' + path + ' (304)':<48} | {ours.requests_per_second:>9.0f} | {ours.p50_ms:>6.2f} | "
            f"{ours.p99_ms:>6.2f} | {ours.non_2xx:>7} | {full_rates[path]:>10.0f} | {speed_up:>7.1f}x |",
            flush=True,
        )
    return failures


# --scale: reads measured at the bundled size and at a big one.
SCALE_READS = [
    ("list, first page", "/peps?limit=20"),
    ("`q=typing`", "/peps?q=typing"),
    ("`author=guido`", "/peps?author=guido"),
    ("`/authors?sort=-pep_count`", "/authors?sort=-pep_count"),
    ("`/me/notes`, first page", "/me/notes?limit=20"),
]
# The deep pages: page 800 at 100 a page (or the last page, if there are fewer).
DEEP_PAGE, PAGE_SIZE = 800, 100
FIRST_SYNTHETIC_PEP = 10000
SMALL_NOTES = 1000


@dataclass
class ScaleRun:
    label: str
    medians_ms: dict[str, float]
    deep_pages: dict[str, str]


def timed_get(client: httpx.Client, path: str, headers: dict[str, str]) -> tuple[float, dict[str, Any]]:
    started = time.perf_counter()
    response = client.get(path, headers=headers)
    elapsed = time.perf_counter() - started
    if response.status_code != 200:
        raise BenchmarkFailed(f"GET {path}: {response.status_code} {response.text[:300]}")
    return elapsed * 1000, response.json()


def median_ms(client: httpx.Client, path: str, headers: dict[str, str], requests: int) -> float:
    for _ in range(2):  # warm the statement caches and the database's pages
        timed_get(client, path, headers)
    return statistics.median(timed_get(client, path, headers)[0] for _ in range(requests))


def deep_page(client: httpx.Client, path: str, headers: dict[str, str]) -> tuple[str, str]:
    """The URL of page DEEP_PAGE (or the last) of a list, and how it is reached: cursors if the API has them."""
    separator = "&" if "?" in path else "?"
    url = f"{path}{separator}limit={PAGE_SIZE}"
    _, page = timed_get(client, url, headers)
    if "next_cursor" in page:
        pages = 1
        while pages < DEEP_PAGE and page["next_cursor"]:
            url = f"{path}{separator}limit={PAGE_SIZE}&cursor={quote(page['next_cursor'])}"
            _, page = timed_get(client, url, headers)
            pages += 1
        return url, f"cursor, page {pages}"
    pages = min(DEEP_PAGE, max(1, math.ceil(page["total"] / PAGE_SIZE)))
    return f"{url}&offset={(pages - 1) * PAGE_SIZE}", f"offset {(pages - 1) * PAGE_SIZE} (no cursors)"


def measure_scale(app: Server, token: str, label: str, requests: int) -> ScaleRun:
    headers = {"Authorization": f"Bearer {token}"}
    run = ScaleRun(label, {}, {})
    with httpx.Client(base_url=app.base_url, timeout=120) as client:
        for name, path in SCALE_READS:
            run.medians_ms[name] = median_ms(client, path, headers if path.startswith("/me") else {}, requests)
        for name, path in (("list, deep page", "/peps"), ("`/me/notes`, deep page", "/me/notes")):
            request_headers = headers if path.startswith("/me") else {}
            url, how = deep_page(client, path, request_headers)
            run.medians_ms[name] = median_ms(client, url, request_headers, requests)
            run.deep_pages[name] = how
    return run


def synthetic_numbers(real: set[int]) -> list[int]:
    """PEP numbers for synthetic copies: 10000-99999 first (as issue 9's 90,014-PEP feed), then the free ones below."""
    return [*range(FIRST_SYNTHETIC_PEP, 100_000), *(n for n in range(1, FIRST_SYNTHETIC_PEP) if n not in real)]


def synthetic_feed(bundled: dict[str, dict[str, Any]], numbers: list[int], folder: Path) -> Path:
    """A feed of the bundled PEPs and copies of their records under `numbers`.

    Written record by record: the child's peak memory, read with wait4, includes what this process holds
    when it starts the child (a feed built in memory here made the import look 60 MB bigger than it is).
    """
    records = list(bundled.values())
    copies = (
        (str(number), records[i % len(records)] | {"number": number, "url": f"https://example.com/pep-{number}/"})
        for i, number in enumerate(numbers)
    )
    path = folder / "big-feed.json"
    with path.open("w", encoding="utf-8") as feed:
        feed.write("{")
        for i, (key, record) in enumerate(itertools.chain(bundled.items(), copies)):
            feed.write(f"{',' if i else ''}{json.dumps(key)}: {json.dumps(record)}")
        feed.write("}")
    return path


def import_feed(feed: Path, env: dict[str, str]) -> tuple[float, float]:
    """Run the importer on `feed`; its wall time in seconds and peak memory (max RSS) in MB."""
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "app", "import-peps", str(feed)],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    # wait4 gives this child's own resource usage (ru_maxrss is in KB on Linux).
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.monotonic() - started
    output = process.stdout.read() if process.stdout else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise BenchmarkFailed(f"import-peps failed: {output}")
    print(f"  {output.strip()}", flush=True)
    return elapsed, usage.ru_maxrss / 1024


def add_notes(database_url: str, email: str, first: int, count: int, pep_numbers: tuple[int, int]) -> None:
    """Give the user `count` more notes in one INSERT ... SELECT, on PEPs `pep_numbers[0]` + i % `pep_numbers[1]`.

    Each note is a second older than the one before, so sorting by time has real work to do.
    """
    start, spread = pep_numbers
    if database_url.startswith("sqlite:///"):
        connection = sqlite3.connect(database_url.removeprefix("sqlite:///"))
        try:
            stamp = "strftime('%Y-%m-%d %H:%M:%S', 'now', '-' || i || ' seconds') || '.000000'"
            connection.execute(
                f"WITH RECURSIVE n(i) AS (SELECT ? UNION ALL SELECT i + 1 FROM n WHERE i < ?) "
                f"INSERT INTO note (user_id, pep_number, body, created_at, updated_at) "
                f"SELECT (SELECT id FROM user_account WHERE email = ?), ? + i % ?, 'Benchmark note ' || i, "
                f"{stamp}, {stamp} FROM n",
                (first, first + count - 1, email, start, spread),
            )
            connection.commit()
        finally:
            connection.close()
        return

    async def insert() -> None:
        connection = await asyncpg.connect(database_url)
        try:
            await connection.execute(
                "INSERT INTO note (user_id, pep_number, body, created_at, updated_at) "
                "SELECT (SELECT id FROM user_account WHERE email = $1), $2 + i % $3, 'Benchmark note ' || i, "
                "now() - i * interval '1 second', now() - i * interval '1 second' "
                "FROM generate_series($4::int, $5::int) AS i",
                email,
                start,
                spread,
                first,
                first + count - 1,
            )
            # What autovacuum would do shortly after a bulk load: fresh statistics and visibility map.
            await connection.execute("VACUUM ANALYZE")
        finally:
            await connection.close()

    asyncio.run(insert())


def print_scale_table(small: ScaleRun, big: ScaleRun) -> None:
    print(f"| {'read (median of sequential requests)':<56} | {small.label:>24} | {big.label:>26} | {'ratio':>5} |")
    print(f"|{'-' * 58}|{'-' * 25}:|{'-' * 27}:|{'-' * 6}:|")
    for name, small_ms in small.medians_ms.items():
        big_ms = big.medians_ms[name]
        shown = f"{name}: {big.deep_pages[name]}" if name in big.deep_pages else name
        print(f"| {shown:<56} | {small_ms:>21.1f} ms | {big_ms:>23.1f} ms | {big_ms / small_ms:>5.1f} |")


def run_scale(args: argparse.Namespace) -> int:
    bundled: dict[str, dict[str, Any]] = json.loads((PROJECT_ROOT / "app" / "data" / "peps.json").read_text())
    real_peps = len(bundled)
    free_numbers = synthetic_numbers({int(key) for key in bundled})
    if not 1 <= args.scale_peps <= len(free_numbers):
        raise BenchmarkFailed(
            f"--scale-peps must be 1 to {len(free_numbers)} (the numbers up to 99999 no real PEP has)"
        )
    if args.scale_notes < SMALL_NOTES:
        raise BenchmarkFailed(f"--scale-notes must be at least {SMALL_NOTES}")
    with (
        tempfile.TemporaryDirectory(prefix="pep-benchmark-") as scratch,
        scratch_database(args.database, args.admin_url, Path(scratch)) as database_url,
    ):
        folder = Path(scratch)
        env = {k: v for k, v in os.environ.items() if k not in ("TEST_DATABASE_URL",)}
        env |= {"DATABASE_URL": database_url, "AUTO_MIGRATE": "true", "SEED_DEMO_DATA": "true", "ENV": "dev"}
        env |= {"SECRET_KEY": secrets.token_urlsafe(48), "ALLOW_SIGNUP": "true", "PYTHONPATH": str(PROJECT_ROOT)}
        port = free_port()
        command = [sys.executable, "-m", "uvicorn", "app.main:app", "--port", str(port)]
        command += ["--workers", "1", "--no-access-log", "--log-level", "warning"]
        small_label = f"{real_peps} PEPs, {SMALL_NOTES:,} notes"
        big_label = f"{real_peps + args.scale_peps:,} PEPs, {args.scale_notes:,} notes"
        with serve("app", command, env, port, folder / "app.log") as app:
            token = sign_in(app)
            add_notes(database_url, USER["email"], 1, SMALL_NOTES, (8, 1))
            print(f"{args.database}: measuring at {small_label}", flush=True)
            small = measure_scale(app, token, small_label, args.scale_requests)
        print(f"{args.database}: importing {args.scale_peps:,} synthetic PEPs", flush=True)
        feed = synthetic_feed(bundled, free_numbers[: args.scale_peps], folder)
        import_seconds, import_mb = import_feed(feed, env)
        started = time.monotonic()
        add_notes(
            database_url,
            USER["email"],
            SMALL_NOTES + 1,
            args.scale_notes - SMALL_NOTES,
            (FIRST_SYNTHETIC_PEP, min(args.scale_peps, 100_000 - FIRST_SYNTHETIC_PEP)),
        )
        notes_seconds = time.monotonic() - started
        with serve("app", command, env, port, folder / "app-big.log") as app:
            print(f"{args.database}: measuring at {big_label}", flush=True)
            # A new token: the first may have expired during a long import.
            big = measure_scale(app, access_token(app), big_label, args.scale_requests)
    print(
        f"\n{args.database}: import of a {real_peps + args.scale_peps:,}-PEP feed ({args.scale_peps:,} new) "
        f"{import_seconds:.1f} s, peak memory {import_mb:.0f} MB; "
        f"{args.scale_notes - SMALL_NOTES:,} notes inserted in {notes_seconds:.1f} s; "
        f"{args.scale_requests} sequential requests per read, one uvicorn worker\n"
    )
    print_scale_table(small, big)
    if import_mb > args.max_import_mb:
        print(
            f"the import's peak memory {import_mb:.0f} MB exceeds --max-import-mb {args.max_import_mb}", file=sys.stderr
        )
        return 1
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--duration", type=float, default=6, help="seconds of measured load per path and server")
    parser.add_argument("--warmup", type=float, default=2, help="seconds of load before each measurement")
    parser.add_argument("--connections", type=int, default=32, help="concurrent connections wrk keeps open")
    parser.add_argument("--scale", action="store_true", help="measure reads at the bundled size and a big one")
    parser.add_argument(
        "--scale-peps", type=int, default=99_263, help="synthetic PEPs to import for --scale (default: 100,000 in all)"
    )
    parser.add_argument("--scale-notes", type=int, default=1_000_000, help="the user's notes for --scale")
    parser.add_argument("--scale-requests", type=int, default=20, help="sequential requests per read for --scale")
    parser.add_argument("--max-import-mb", type=float, default=300, help="fail --scale if the import peaks above")
    args = parser.parse_args()
    if args.scale:
        return run_scale(args)
    if shutil.which("wrk") is None:
        print("wrk is not installed: apt-get install wrk (or brew install wrk)", file=sys.stderr)
        return 2

    secret_key = secrets.token_urlsafe(48)
    with (
        tempfile.TemporaryDirectory(prefix="pep-benchmark-") as scratch,
        scratch_database(args.database, args.admin_url, Path(scratch)) as database_url,
    ):
        folder = Path(scratch)
        app_port, baseline_port = free_port(), free_port()
        env = {k: v for k, v in os.environ.items() if k not in ("TEST_DATABASE_URL",)}
        env |= {"DATABASE_URL": database_url, "AUTO_MIGRATE": "true", "SEED_DEMO_DATA": "true", "ENV": "dev"}
        env |= {"SECRET_KEY": secret_key, "ALLOW_SIGNUP": "true", "PYTHONPATH": str(PROJECT_ROOT)}
        app_command = [sys.executable, "-m", "uvicorn", "app.main:app", "--port", str(app_port)]
        app_command += ["--workers", "1", "--no-access-log", "--log-level", "warning"]
        baseline_command = [sys.executable, str(PROJECT_ROOT / "scripts" / "benchmark_baseline.py")]
        # One argument: a generated key may start with "-", which argparse would read as an option.
        baseline_command += ["--database-url", database_url, f"--secret-key={secret_key}", "--port", str(baseline_port)]
        with serve("app", app_command, env, app_port, folder / "app.log") as app:
            token = sign_in(app)
            headers = {"Authorization": f"Bearer {token}"}
            for i in range(30):
                note = NOTE | {"body": f"Benchmark note {i}"}
                httpx.post(f"{app.base_url}/me/notes", json=note, headers=headers).raise_for_status()
            with serve("baseline", baseline_command, env, baseline_port, folder / "baseline.log") as baseline:
                check_same_answers(app, baseline, headers)
                rss_before = app.rss_mb()
                post_script = folder / "post-note.lua"
                post_script.write_text(
                    f'wrk.method = "POST"\nwrk.body = {json.dumps(json.dumps(NOTE))}\n'
                    'wrk.headers["Content-Type"] = "application/json"\n'
                )
                print(
                    f"{args.database}: {args.duration:g} s per path and server after {args.warmup:g} s warm-up, "
                    f"wrk -t1 -c{args.connections}, one uvicorn worker each"
                )
                print(
                    f"| {'request':<48} | {'app req/s':>9} | {'p50 ms':>6} | {'p99 ms':>6} | {'non-2xx':>7} | "
                    f"{'CPU µs/req':>10} | {'baseline req/s':>14} | {'p50 ms':>6} | {'p99 ms':>6} | "
                    f"{'CPU µs/req':>10} | {'ratio':>5} |"
                )
                print(
                    f"|{'-' * 50}|{'-' * 11}:|{'-' * 7}:|{'-' * 7}:|{'-' * 8}:|{'-' * 11}:|{'-' * 15}:|"
                    f"{'-' * 7}:|{'-' * 7}:|{'-' * 11}:|{'-' * 6}:|"
                )
                failures = 0
                plan: list[tuple[str, str, dict[str, str], Path | None]] = [
                    (f"GET {path}", path, headers if path.startswith("/me") else {}, None) for path in READ_PATHS
                ]
                plan.append(("POST /me/notes", "/me/notes", headers, post_script))
                full_rates: dict[str, float] = {}
                for label, path, request_headers, script in plan:
                    ours = measure(app, path, args, request_headers, script)
                    full_rates[path] = ours.requests_per_second
                    theirs = measure(baseline, path, args, request_headers, script)
                    failures += ours.non_2xx + theirs.non_2xx
                    ratio = ours.requests_per_second / theirs.requests_per_second
                    print(
                        f"| {label:<48} | {ours.requests_per_second:>9.0f} | {ours.p50_ms:>6.2f} | "
                        f"{ours.p99_ms:>6.2f} | {ours.non_2xx:>7} | {ours.cpu_us_per_request:>10.0f} | "
                        f"{theirs.requests_per_second:>14.0f} | {theirs.p50_ms:>6.2f} | {theirs.p99_ms:>6.2f} | "
                        f"{theirs.cpu_us_per_request:>10.0f} | {ratio:>5.2f} |",
                        flush=True,
                    )
                failures += measure_conditional_reads(app, args, full_rates)
                print(f"app memory (RSS): {rss_before:.0f} MB after start-up, {app.rss_mb():.0f} MB after the run")
    if failures:
        print(f"{failures} requests failed or answered non-2xx", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchmarkFailed as failure:
        print(f"benchmark failed: {failure}", file=sys.stderr)
        sys.exit(1)
