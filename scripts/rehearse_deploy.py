"""Rehearse a PaaS deploy on this machine, exactly as the Procfile says, and smoke-test the result.

    python scripts/rehearse_deploy.py [--admin-url postgresql://postgres@127.0.0.1:5432/postgres]

1. creates a fresh PostgreSQL database and hands it over as a Heroku-style `postgres://` URL;
2. runs the Procfile's `release:` line (migrations), then loads the catalogue with `python -m app import-peps`;
3. starts the Procfile's `web:` line with PORT and WEB_CONCURRENCY=2, in production settings;
4. smoke-tests it: health, a read, sign-in, a write, and a refused anonymous write;
5. stops it with SIGTERM, as platforms do, expects a clean shutdown, and drops the database.
Exits non-zero, saying which step failed, if anything goes wrong.
"""

import argparse
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from local_services import RehearsalFailed, admin_sql, check, free_port, step

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ADMIN = {"username": "deploy-admin@example.com", "password": secrets.token_urlsafe(16)}


def procfile_lines() -> dict[str, str]:
    lines = (PROJECT_ROOT / "Procfile").read_text().splitlines()
    return dict(line.split(":", 1) for line in lines if ":" in line and not line.startswith("#"))


def run_line(command: str, env: dict[str, str]) -> None:
    result = subprocess.run(
        ["bash", "-c", command], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    print(result.stdout + result.stderr, end="")
    check(result.returncode == 0, f"`{command}` exited with {result.returncode}")


def smoke_test(base: str) -> None:
    with httpx.Client(base_url=base, timeout=30) as client:
        check(client.get("/health").json() == {"status": "ok", "database": "ok"}, "/health is not ok")
        peps = client.get("/peps", params={"status": "Final", "limit": 5}).json()
        check(peps["total"] > 300 and len(peps["items"]) == 5, f"unexpected /peps answer: {peps}")
        token = client.post("/auth/token", data=ADMIN)
        check(token.status_code == 200, f"sign-in failed: {token.status_code} {token.text}")
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        edit = client.patch("/peps/8", json={"status": "Active"}, headers=headers)
        check(edit.status_code == 200, f"superuser write failed: {edit.status_code} {edit.text}")
        note = client.post("/me/notes", json={"pep_number": 8, "body": "deployed"}, headers=headers)
        check(note.status_code == 201, f"note failed: {note.status_code} {note.text}")
        anonymous = client.patch("/peps/8", json={"title": "vandalised"})
        check(anonymous.status_code == 401, f"anonymous write answered {anonymous.status_code}")
        docs = client.get("/docs", headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"})
        check(docs.status_code == 200, "/docs does not load")


def rehearse(admin_url: str) -> None:
    database = f"pep_rehearsal_{uuid.uuid4().hex[:10]}"
    server_url = admin_url.rsplit("/", 1)[0]
    step(f"creating database {database}")
    admin_sql(admin_url, f'CREATE DATABASE "{database}"')
    log = Path(tempfile.mkdtemp()) / "web.log"
    try:
        port = free_port()
        env = {k: v for k, v in os.environ.items() if k not in ("TEST_DATABASE_URL", "AUTO_MIGRATE", "SEED_DEMO_DATA")}
        env |= {
            "DATABASE_URL": server_url.replace("postgresql://", "postgres://", 1) + f"/{database}",
            "ENV": "prod",
            "SECRET_KEY": secrets.token_urlsafe(48),
            "FIRST_SUPERUSER_EMAIL": ADMIN["username"],
            "FIRST_SUPERUSER_PASSWORD": ADMIN["password"],
            "PORT": str(port),
            "WEB_CONCURRENCY": "2",
        }
        lines = procfile_lines()
        step(f"release: {lines['release'].strip()}")
        run_line(lines["release"], env)
        step("loading the catalogue: python -m app import-peps")
        run_line(f"{sys.executable} -m app import-peps", env)
        step(f"web: {lines['web'].strip()}")
        with log.open("w") as output:
            web = subprocess.Popen(
                ["bash", "-c", f"exec {lines['web'].strip()}"],
                cwd=PROJECT_ROOT,
                env=env,
                stdout=output,
                stderr=output,
                start_new_session=True,
            )
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 60
            while True:
                check(web.poll() is None, "the web process exited during start-up")
                try:
                    if httpx.get(f"{base}/health", timeout=5).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                check(time.monotonic() < deadline, "the web process did not answer /health within 60 s")
                time.sleep(0.5)
            step("smoke test: health, read, sign-in, write, refused anonymous write")
            smoke_test(base)
        finally:
            step("stopping the web process with SIGTERM")
            os.killpg(web.pid, signal.SIGTERM)
            try:
                code = web.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(web.pid, signal.SIGKILL)
                raise RehearsalFailed("the web process did not stop within 30 s of SIGTERM") from None
        logged = log.read_text()
        print(logged, end="")
        check(code == 0, f"the web process exited with {code} after SIGTERM")
        check("Traceback" not in logged, "the web log holds a traceback")
        check(logged.count("Application startup complete") == 2, "expected two workers to start")
        check("Application shutdown complete" in logged, "the workers did not shut down cleanly")
        check(ADMIN["password"] not in logged and env["SECRET_KEY"] not in logged, "a secret reached the log")
    finally:
        step(f"dropping database {database}")
        admin_sql(admin_url, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres", help="A URL that may create databases."
    )
    args = parser.parse_args()
    try:
        rehearse(args.admin_url)
    except RehearsalFailed as error:
        print(f"REHEARSAL FAILED: {error}", file=sys.stderr)
        return 1
    print("Deploy rehearsal passed.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
