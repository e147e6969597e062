"""Email through jobs: the request answers at once whatever the mail server does, the email goes when the
server is back (after restarts too), and a job that runs again never sends a second email for one request."""

import asyncio
import time
from pathlib import Path

import httpx
from aiosmtpd.controller import Controller
from httpx import AsyncClient
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from app.auth.outbox import EMAIL_JOB_OPTIONS
from app.config import load_settings
from app.db import create_engine_for, make_sessionmaker, session_scope
from app.jobs.queue import JOBS, get_queue
from app.mail.models import EmailDelivery
from tests.conftest import ConnectionQueue
from tests.mailbox import Mailbox, SilentServer, text_of
from tests.servers import SUPERUSER, free_port, running_app


async def make_due(connection: AsyncConnection) -> None:
    """A retry waits a random second or so; the test does not."""
    await connection.execute(update(JOBS).values(scheduled=0))


async def test_one_email_per_request_whatever_happens_to_its_job(
    client: AsyncClient, make_user, mailbox: Mailbox, run_jobs, connection: AsyncConnection
) -> None:
    await make_user("twice@example.com")
    mailbox.refuse = 2  # the server answers "try again later" twice
    assert (await client.post("/auth/password-reset", json={"email": "twice@example.com"})).status_code == 202
    for _ in range(10):
        [job] = await run_jobs()
        if job.status != "queued":
            break
        assert "451" in (job.error or "")
        await make_due(connection)
    assert job.status == "complete" and job.result == "sent" and job.attempts == 3
    assert len(mailbox.messages) == 1

    # The job runs again (a worker that died after the server took the email, an operator's retry) and a
    # second job names the same email: neither sends anything.
    queue = ConnectionQueue(connection)
    job.attempts = 0
    await queue.retry(job, error=None)
    [delivery_id] = job.kwargs.values() if job.kwargs else []
    async with session_scope(make_sessionmaker(connection, join_transaction_mode="create_savepoint")) as session:
        options = {"delivery_id": delivery_id, **EMAIL_JOB_OPTIONS}
        await get_queue().enqueue_in(session, "send_account_email", key="email:again", **options)
    await make_due(connection)
    results = {each.key: each.result for each in await run_jobs()}
    assert results == {job.key: "already sent", "email:again": "already sent"}
    assert len(mailbox.messages) == 1
    sent = await connection.execute(select(EmailDelivery.sent_at).where(EmailDelivery.id == delivery_id))  # type: ignore[call-overload]
    assert sent.scalar_one() is not None


def wait_until(condition, seconds: float, what: str) -> float:
    """Poll until `condition()`; the seconds it took."""
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < seconds, f"{what}: not within {seconds} s"
        time.sleep(0.2)
    return time.monotonic() - started


def email_jobs(database_url: str) -> list[str]:
    """The status of each email job (the cron jobs are queued beside them)."""

    async def read() -> list[str]:
        engine = create_engine_for(load_settings(database_url=database_url))
        try:
            async with engine.connect() as connection:
                statuses = await connection.execute(select(JOBS.c.status).where(JOBS.c.key.startswith("email:")))
                return list(statuses.scalars())
        finally:
            await engine.dispose()

    return asyncio.run(read())


def test_a_reset_answers_at_once_while_smtp_hangs_and_is_sent_when_smtp_is_back_after_a_restart(
    tmp_path: Path, fresh_database_url: str
) -> None:
    port = free_port()
    hanging = SilentServer(port)  # accepts the connection, never answers
    settings = {
        "DATABASE_URL": fresh_database_url,
        "AUTO_MIGRATE": "true",
        "SEED_DEMO_DATA": "false",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(port),
        "SMTP_TLS": "none",
        "SMTP_TIMEOUT": "20",  # a request that waited for the server would take this long
        "PUBLIC_URL": "https://pep.example",
    }
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    try:
        with running_app(tmp_path, **settings) as server:
            started = time.monotonic()
            asked = httpx.post(
                f"{server.base_url}/auth/password-reset", json={"email": SUPERUSER["username"]}, timeout=30
            )
            answered_in = time.monotonic() - started
            assert asked.status_code == 202 and answered_in < 5, f"answered in {answered_in:.2f} s"
            # The job is talking to the silent server when the app stops: it goes back to the queue.
            wait_until(lambda: email_jobs(fresh_database_url) == ["active"], 30, "the job started")
        assert email_jobs(fresh_database_url) == ["queued"]
        hanging.close()  # now the server is down: connections are refused

        with running_app(tmp_path, **settings) as server:
            time.sleep(2)  # an attempt or two fail against the closed port
            assert mailbox.messages == []
            controller.start()
            delivered_in = wait_until(lambda: bool(mailbox.messages), 75, "the email after the server came back")
            wait_until(lambda: email_jobs(fresh_database_url) == ["complete"], 30, "the job completed")
            print(f"202 in {answered_in * 1000:.0f} ms; delivered {delivered_in:.1f} s after SMTP came back")
        [message] = mailbox.messages
        assert message["To"] == SUPERUSER["username"] and "/reset-password?token=" in text_of(message)
    finally:
        hanging.close()
        controller.stop()
