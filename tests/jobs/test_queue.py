"""The job queue (SAQ's worker over app/jobs/queue.py) on the test database: transactions, retries, failed jobs
and the command that retries them, and the two races of a queue that several processes share."""

import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from saq import Status, Worker
from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncEngine

from app.config import load_settings
from app.db import create_engine_for, make_sessionmaker, session_scope
from app.jobs.queue import JOBS, JobContext, SQLQueue
from tests.conftest import IS_POSTGRES, TEST_DATABASE_URL
from tests.servers import free_port

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# SAQ's own defaults would be no retry and a failed job deleted after 10 minutes: every test job says what it wants.
OPTIONS = {"timeout": 30, "retries": 1, "retry_delay": 0.0, "retry_backoff": False, "ttl": 3600}


@pytest.fixture
async def queue(engine: AsyncEngine) -> AsyncIterator[SQLQueue]:
    """A queue of its own on the test database (its rows are committed, and deleted after the test)."""
    queue = SQLQueue(engine, name=f"test-{uuid.uuid4().hex[:8]}")
    yield queue
    async with engine.begin() as connection:
        await connection.execute(delete(JOBS).where(JOBS.c.queue == queue.name))


async def wait_for(queue: SQLQueue, key: str, status: Status, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while (job := await queue.job(key)) is None or job.status != status:
        assert time.monotonic() < deadline, f"{key} is {job.status if job else 'missing'}, not {status}"
        await asyncio.sleep(0.1)


async def test_a_job_exists_only_if_the_transaction_that_queued_it_commits(queue: SQLQueue) -> None:
    sessions = make_sessionmaker(queue.writing_engine)
    kept, dropped = f"kept-{uuid.uuid4().hex}", f"dropped-{uuid.uuid4().hex}"
    async with session_scope(sessions) as session:
        await queue.enqueue_in(session, "anything", key=kept, **OPTIONS)
    with pytest.raises(RuntimeError):
        async with session_scope(sessions) as session:
            await queue.enqueue_in(session, "anything", key=dropped, **OPTIONS)
            raise RuntimeError("the request failed")
    assert (await queue.job(kept)) is not None
    assert (await queue.job(dropped)) is None


def app_command(*args: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "DATABASE_URL": TEST_DATABASE_URL}
    return subprocess.run(
        [sys.executable, "-m", "app", *args], env=environment, capture_output=True, text=True, timeout=120
    )


async def test_a_failing_job_is_retried_then_kept_as_failed_and_the_command_retries_it(engine: AsyncEngine) -> None:
    # The commands work on the app's queue, "default"; no other test commits a job there.
    queue = SQLQueue(engine)
    key = f"flaky-{uuid.uuid4().hex}"
    attempts: list[int] = []

    async def flaky(ctx: JobContext) -> str:
        attempts.append(ctx["job"].attempts)
        if len(attempts) <= 3:
            raise ConnectionRefusedError("the mail server is down")
        return "sent"

    async def run_until(status: Status) -> None:
        worker = Worker(queue, functions=[("flaky", flaky)], concurrency=1, poll_interval=0.1)
        running = asyncio.create_task(worker.start())
        try:
            await wait_for(queue, key, status)
        finally:
            await worker.stop()
            await running

    try:
        await queue.enqueue("flaky", key=key, **OPTIONS | {"retries": 3, "retry_delay": 0.1, "retry_backoff": 1.0})
        await run_until(Status.FAILED)
        assert attempts == [1, 2, 3]
        failed = await queue.job(key)
        assert failed is not None and "the mail server is down" in (failed.error or "")
        assert failed.ttl == 3600, "kept, not deleted"

        listed = app_command("jobs", "failed")
        assert listed.returncode == 0, listed.stderr
        [line] = [line for line in listed.stdout.splitlines() if key in line]
        assert "flaky" in line and "3 attempts" in line and "ConnectionRefusedError: the mail server is down" in line

        unknown = app_command("jobs", "retry", "no-such-job")
        assert unknown.returncode == 1 and "no failed job has the key no-such-job" in unknown.stderr
        retried = app_command("jobs", "retry", key)
        assert retried.returncode == 0 and "Queued 1 job(s) again." in retried.stdout, retried.stderr
        requeued = await queue.job(key)
        assert requeued is not None and requeued.status == Status.QUEUED and requeued.attempts == 0

        await run_until(Status.COMPLETE)
        assert attempts == [1, 2, 3, 1], "the retried job got its whole retry budget back"
        done = await queue.job(key)
        assert done is not None and done.result == "sent"
    finally:
        async with engine.begin() as connection:
            await connection.execute(delete(JOBS).where(JOBS.c.key == key))


async def test_a_claimed_job_is_never_taken_for_a_dead_workers(queue: SQLQueue) -> None:
    """Race 1: a claim marks the job started in its own transaction, so another process's sweep, between
    the claim and the worker's first update, does not find it 'running since forever' and run it again."""
    other_process = SQLQueue(queue.engine, name=queue.name)
    await queue.enqueue("anything", key=f"claimed-{uuid.uuid4().hex}", **OPTIONS | {"timeout": 1})
    claimed = await queue.dequeue(timeout=5)
    assert claimed is not None and claimed.started
    assert await other_process.sweep(abort=0.1) == []
    stored = await queue.job(claimed.key)
    assert stored is not None and stored.status == Status.ACTIVE


async def test_a_dead_workers_job_is_taken_over_by_one_process(queue: SQLQueue) -> None:
    """Race 2: every process sweeps; of two that find the same stuck job, only one puts it back."""
    key = f"stuck-{uuid.uuid4().hex}"
    await queue.enqueue("anything", key=key, **OPTIONS | {"timeout": 1, "retries": 5})
    claimed = await queue.dequeue(timeout=5)
    assert claimed is not None
    claimed.started = claimed.touched = 1000  # its worker died long ago
    async with queue.writing_engine.begin() as connection:
        await connection.execute(update(JOBS).where(JOBS.c.key == key).values(job=queue.serialize(claimed)))
    sweepers = [SQLQueue(queue.engine, name=queue.name) for _ in range(2)]
    swept = await asyncio.gather(*(sweeper.sweep(abort=0.1) for sweeper in sweepers))
    assert sorted(swept) == [[], [key]]
    again = await queue.job(key)
    assert again is not None and again.status == Status.QUEUED and again.error == "swept"


async def test_two_workers_run_each_job_once(queue: SQLQueue) -> None:
    """Two processes' workers (each with its own engine) take jobs from one queue: each job runs once."""
    second_engine = create_engine_for(load_settings(database_url=TEST_DATABASE_URL))
    queues = [queue, SQLQueue(second_engine, name=queue.name)]
    runs: list[tuple[int, str]] = []
    keys = [f"many-{n:03}-{uuid.uuid4().hex[:6]}" for n in range(40)]

    def recorder(worker_number: int):  # each worker's own function, so the runs say who ran them
        async def record(ctx: JobContext) -> None:
            runs.append((worker_number, ctx["job"].key))
            await asyncio.sleep(0.01)

        return ("record", record)

    for key in keys:
        await queue.enqueue("record", key=key, **OPTIONS)
    workers = [
        Worker(each, functions=[recorder(n)], concurrency=3, poll_interval=0.05) for n, each in enumerate(queues)
    ]
    running = [asyncio.create_task(worker.start()) for worker in workers]
    try:
        for _ in range(600):  # at most a minute
            if len(runs) >= len(keys):
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.5)  # a second run of any job would land meanwhile
    finally:
        for worker in workers:
            await worker.stop()
        await asyncio.gather(*running)
        await second_engine.dispose()
    assert sorted(key for _, key in runs) == keys


async def test_a_worker_waits_out_an_unreachable_database(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Without a database the worker's poll says so once and keeps its pace (SAQ would ask again at once)."""
    url = (
        f"postgresql://postgres@127.0.0.1:{free_port()}/none" if IS_POSTGRES else f"sqlite:///{tmp_path}/no/such/dir.db"
    )
    engine = create_engine_for(load_settings(database_url=url, db_connect_timeout=1))
    try:
        with caplog.at_level("WARNING", logger="saq"):
            started = time.monotonic()
            assert await SQLQueue(engine).dequeue(timeout=2.5, poll_interval=0.5) is None
        assert time.monotonic() - started >= 2.5
        warnings = [r.getMessage() for r in caplog.records if r.name == "saq"]
        assert len(warnings) == 1 and warnings[0].startswith("Cannot take jobs (")
    finally:
        await engine.dispose()
