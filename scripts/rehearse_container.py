"""Rehearse the container image on this machine with Podman, as a platform runs it, and smoke-test it.

    python scripts/rehearse_container.py [--admin-url postgresql://postgres@127.0.0.1:5432/postgres]

1. installs Podman from Debian's packages if it is missing, and makes a base image with Python from
   Debian's packages (no image registry is needed; the base is kept between runs);
2. builds the Dockerfile on that base (the official image is the Dockerfile's default);
3. on a fresh PostgreSQL database, runs the release command of fly.toml and railway.json in a one-off container;
4. starts the web container (ENV=prod, PORT, WEB_CONCURRENCY=2) and checks /health, the image's HEALTHCHECK,
   a read, that no process is root and that the server is PID 1;
5. sends SIGTERM with a request in flight: the request must finish and the container exit 0 within 10 s;
6. on another fresh database, starts with AUTO_MIGRATE=true and no release step (platforms without one);
7. SQLite in a volume: writes a note, replaces the container with a new one on the same volume, reads it back;
8. removes every container, volume, database and image it made, except the base image.
Exits non-zero, saying which step failed, if anything goes wrong. Needs root (Podman, apt-get).
"""

import argparse
import json
import os
import re
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import tomllib
import uuid
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
from local_services import RehearsalFailed, admin_sql, check, free_port, step

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# Rename when what goes into it changes: an existing image of this name is reused as it is.
BASE_IMAGE = "localhost/pep-catalogue-base:bookworm"
DEBIAN_SUITE = "bookworm"  # its python3 is 3.11, as in .python-version
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
# crun refuses these machines' hybrid cgroups, and the default rlimits exceed what the sandbox allows.
PODMAN = ["podman", "--runtime", "runc", "--cgroup-manager", "cgroupfs"]
LIMITS = ["--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"]
STOP_LIMIT_SECONDS = 10
ADMIN = {"username": "container-admin@example.com", "password": secrets.token_urlsafe(16)}


def run(command: list[str], timeout: float = 300, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """Run a command, failing the rehearsal with its output if it fails."""
    try:
        result: subprocess.CompletedProcess[str] = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, **kwargs
        )
    except subprocess.TimeoutExpired:
        raise RehearsalFailed(f"`{' '.join(command)}` did not finish within {timeout:.0f} s") from None
    if result.returncode != 0:
        raise RehearsalFailed(f"`{' '.join(command)}` exited with {result.returncode}:\n{result.stdout}{result.stderr}")
    return result


def podman(*args: str, timeout: float = 300) -> str:
    return run([*PODMAN, *args], timeout=timeout).stdout


def install_podman() -> None:
    missing = [tool for tool in ("podman", "runc", "debootstrap") if not shutil.which(tool)]
    if not missing:
        return
    step(f"installing {', '.join(missing)} from Debian's packages")
    check(os.geteuid() == 0, "installing packages needs root")
    run(["apt-get", "update", "-qq"])
    run(
        ["apt-get", "install", "-y", "-qq", "podman", "runc", "debootstrap"],
        env=os.environ | {"DEBIAN_FRONTEND": "noninteractive"},
    )


def ensure_base_image() -> None:
    """A stand-in for the official python image, made from Debian's packages, kept between runs."""
    if subprocess.run([*PODMAN, "image", "exists", BASE_IMAGE]).returncode == 0:
        step(f"base image {BASE_IMAGE} is already here")
        return
    step(f"making the base image {BASE_IMAGE} with debootstrap (once per machine)")
    with tempfile.TemporaryDirectory() as folder:
        rootfs = Path(folder) / "rootfs"
        run(
            [
                "debootstrap",
                "--variant=minbase",
                "--include=python3,python3-venv,ca-certificates",
                DEBIAN_SUITE,
                str(rootfs),
            ],
            timeout=900,
        )
        # Debian's pip predates trusting the system's certificate store by default, as the official image's does.
        (rootfs / "etc/pip.conf").write_text("[global]\ncert = /etc/ssl/certs/ca-certificates.crt\n")
        for cache in ("var/cache/apt/archives", "var/lib/apt/lists"):
            for entry in (rootfs / cache).glob("*"):
                if entry.is_file():
                    entry.unlink()
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
        run([*PODMAN, "import", "-", BASE_IMAGE], stdin=tar.stdout)
        check(tar.wait() == 0, "tar of the base image's files failed")


def build_image(tag: str) -> None:
    # This machine's certificate bundle lets pip reach the package index; it is mounted for the build only.
    ca_mount = ["--volume", f"{HOST_CA_BUNDLE.parent}:{HOST_CA_BUNDLE.parent}:ro"] if HOST_CA_BUNDLE.exists() else []
    podman(
        "build",
        "--format=docker",  # keeps HEALTHCHECK, which the OCI format drops
        "--layers=false",
        "--pull=never",
        "--network=host",
        *LIMITS,
        *ca_mount,
        "--build-arg",
        f"BASE_IMAGE={BASE_IMAGE}",
        "--tag",
        tag,
        str(PROJECT_ROOT),
        timeout=900,
    )


class Rehearsal:
    """Everything one run creates is named after its id and removed at the end."""

    def __init__(self, admin_url: str, database_prefix: str, cleanup: ExitStack) -> None:
        self.run_id = uuid.uuid4().hex[:10]
        self.image = f"localhost/pep-catalogue-rehearsal:{self.run_id}"
        self.admin_url = admin_url
        self.database_prefix = database_prefix
        self.cleanup = cleanup

    def fresh_database(self, label: str) -> str:
        """A new, empty PostgreSQL database; its URL in the Heroku style platforms hand out."""
        name = f"{self.database_prefix}{self.run_id}_{label}"
        step(f"creating database {name}")
        admin_sql(self.admin_url, f'CREATE DATABASE "{name}"')
        self.cleanup.callback(self._drop_database, name)
        return self.admin_url.rsplit("/", 1)[0].replace("postgresql://", "postgres://", 1) + f"/{name}"

    def _drop_database(self, name: str) -> None:
        step(f"dropping database {name}")
        admin_sql(self.admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def build(self) -> None:
        step(f"building {self.image} on {BASE_IMAGE}")
        self.cleanup.callback(self._remove, "rmi", "--force", self.image)
        started = time.monotonic()
        build_image(self.image)
        step(f"built in {time.monotonic() - started:.0f} s")
        version = podman(
            "run", "--rm", *LIMITS, self.image, "python", "-c", "import platform; print(platform.python_version())"
        )
        wanted = (PROJECT_ROOT / ".python-version").read_text().strip()
        check(
            version.startswith(f"{wanted}."), f"the image runs Python {version.strip()}, .python-version says {wanted}"
        )
        test_tools = (
            "import importlib.util as u; print([m for m in ('pytest', 'ruff', 'schemathesis') if u.find_spec(m)])"
        )
        found = podman("run", "--rm", *LIMITS, self.image, "python", "-c", test_tools).strip()
        check(found == "[]", f"the image holds test tools it does not need: {found}")
        declared = podman("image", "inspect", "--format", "{{.Config.Volumes}}", self.image).strip()
        check(
            declared in ("map[]", "<no value>", ""), f"the image declares a VOLUME, which Railway refuses: {declared}"
        )

    def _remove(self, *args: str) -> None:
        subprocess.run([*PODMAN, *args], capture_output=True)

    def volume(self) -> str:
        name = f"pep-rehearsal-{self.run_id}"
        podman("volume", "create", name)
        self.cleanup.callback(self._remove, "volume", "rm", "--force", name)
        return name

    def one_off(self, env: dict[str, str], *command: str) -> subprocess.CompletedProcess[str]:
        """A command in a throwaway container, as a platform's release phase runs it."""
        podman_run = [*PODMAN, "run", "--rm", "--network=host", "--no-healthcheck", *LIMITS]
        return run([*podman_run, *env_args(env), self.image, *command])

    def start(self, label: str, env: dict[str, str], volume: str | None = None) -> "Container":
        name = f"pep-rehearsal-{self.run_id}-{label}"
        port = free_port()
        self.cleanup.callback(self._remove, "rm", "--force", "--time", "0", name)
        mount = ["--volume", f"{volume}:/data"] if volume else []
        # No timer for the HEALTHCHECK (Podman would need systemd for one): `podman healthcheck run` runs it.
        podman(
            "run",
            "--detach",
            "--name",
            name,
            "--network=host",
            "--health-interval=disable",
            *LIMITS,
            *mount,
            *env_args(env | {"PORT": str(port)}),
            self.image,
        )
        container = Container(name, f"http://127.0.0.1:{port}")
        container.wait_until_healthy()
        return container


def env_args(env: dict[str, str]) -> list[str]:
    return [argument for key, value in env.items() for argument in ("--env", f"{key}={value}")]


class Container:
    def __init__(self, name: str, base_url: str) -> None:
        self.name = name
        self.base_url = base_url
        self.client = httpx.Client(base_url=base_url, timeout=30)

    def logs(self) -> str:
        result = subprocess.run([*PODMAN, "logs", self.name], capture_output=True, text=True)
        return result.stdout + result.stderr

    def running(self) -> bool:
        return podman("inspect", "--format", "{{.State.Running}}", self.name).strip() == "true"

    def wait_until_healthy(self) -> None:
        deadline = time.monotonic() + 90
        while True:
            if not self.running():
                raise RehearsalFailed(f"{self.name} exited during start-up:\n{self.logs()}")
            try:
                if self.client.get("/health", timeout=5).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            check(time.monotonic() < deadline, f"{self.name} did not answer /health within 90 s:\n{self.logs()}")
            time.sleep(0.5)

    def check_health_and_a_read(self) -> None:
        health = self.client.get("/health").json()
        check(health == {"status": "ok", "database": "ok"}, f"/health answered {health}")
        probe = subprocess.run([*PODMAN, "healthcheck", "run", self.name], capture_output=True, text=True)
        check(probe.returncode == 0, f"the image's HEALTHCHECK failed: {probe.stdout}{probe.stderr}")
        pep = self.client.get("/peps/8")
        check(
            pep.status_code == 200 and pep.json()["title"] == "Style Guide for Python Code",
            f"GET /peps/8 answered {pep.status_code} {pep.text[:200]}",
        )

    def check_processes(self, workers: int) -> None:
        """No process runs as root, and PID 1 is the server itself (a shell would swallow SIGTERM)."""
        table = podman("top", self.name, "user", "pid", "args").splitlines()[1:]
        processes = [line.split(None, 2) for line in table]
        check(all(user != "root" for user, _, _ in processes), f"a process runs as root: {table}")
        first = next((args for _, pid, args in processes if pid == "1"), "")
        check(
            re.match(r"\S*/python3? \S*/uvicorn app\.main:app ", first) is not None,
            f"PID 1 is not the server: {first!r}",
        )
        # One worker serves in PID 1 itself; more are its children.
        children = [args for _, _, args in processes if "multiprocessing-fork" in args]
        check(
            len(children) == (workers if workers > 1 else 0), f"expected {workers} worker(s) (WEB_CONCURRENCY): {table}"
        )

    def stop_with_a_request_in_flight(self, form: dict[str, str]) -> str:
        """SIGTERM while a sign-in's body is half sent; the request must still be answered. Returns the answer."""
        body = str(httpx.QueryParams(form)).encode()
        host, port = self.base_url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=15) as connection:
            connection.sendall(
                b"POST /auth/token HTTP/1.1\r\nHost: rehearsal\r\nConnection: close\r\n"
                b"Content-Type: application/x-www-form-urlencoded\r\n"
                + f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body[:10]
            )
            time.sleep(0.5)  # the server has the request's head: the request is in flight

            def finish_the_request() -> None:
                time.sleep(1)
                connection.sendall(body[10:])

            self.terminate_and_wait(after_signal=finish_the_request)
            answer = b""
            while chunk := connection.recv(65536):
                answer += chunk
        return answer.decode(errors="replace")

    def terminate_and_wait(self, after_signal: Callable[[], object] = lambda: None) -> None:
        """SIGTERM, as platforms stop a container; it must exit 0 within STOP_LIMIT_SECONDS."""
        self.client.close()
        started = time.monotonic()
        podman("kill", "--signal", "TERM", self.name)
        after_signal()
        waiter = subprocess.Popen([*PODMAN, "wait", self.name], stdout=subprocess.PIPE, text=True)
        try:
            code, _ = waiter.communicate(timeout=max(0.1, STOP_LIMIT_SECONDS - (time.monotonic() - started)))
        except subprocess.TimeoutExpired:
            waiter.kill()
            raise RehearsalFailed(f"{self.name} did not stop within {STOP_LIMIT_SECONDS} s of SIGTERM") from None
        elapsed = time.monotonic() - started
        logs = self.logs()
        check(code.strip() == "0", f"{self.name} exited with {code.strip()} after SIGTERM:\n{logs}")
        check("Traceback" not in logs, f"{self.name}'s log holds a traceback:\n{logs}")
        step(f"{self.name} stopped cleanly {elapsed:.1f} s after SIGTERM")


def rehearse(admin_url: str, database_prefix: str) -> None:
    with ExitStack() as cleanup:
        rehearsal = Rehearsal(admin_url, database_prefix, cleanup)
        install_podman()
        ensure_base_image()
        rehearsal.build()

        fly = tomllib.loads((PROJECT_ROOT / "fly.toml").read_text())
        check(fly["env"]["PORT"] == str(fly["http_service"]["internal_port"]), "fly.toml: PORT is not internal_port")
        check([c["path"] for c in fly["http_service"]["checks"]] == ["/health"], "fly.toml: the check is not /health")
        release_command = fly["deploy"]["release_command"]
        railway = json.loads((PROJECT_ROOT / "railway.json").read_text())
        check(railway["build"]["builder"] == "DOCKERFILE", "railway.json does not build the Dockerfile")
        check(
            railway["deploy"]["preDeployCommand"] == [release_command], "railway.json and fly.toml migrate differently"
        )
        step(f"PostgreSQL: fly.toml's release command ({release_command}) in its own container, then the web container")
        prod = {
            "DATABASE_URL": rehearsal.fresh_database("release"),
            "ENV": "prod",
            "SECRET_KEY": secrets.token_urlsafe(48),
            "FIRST_SUPERUSER_EMAIL": ADMIN["username"],
            "FIRST_SUPERUSER_PASSWORD": ADMIN["password"],
        }
        release = rehearsal.one_off(prod, *shlex.split(release_command))
        print(release.stderr, end="")
        check("Running upgrade  -> " in release.stderr, "the release command did not migrate the empty database")
        web = rehearsal.start("postgres", prod | {"SEED_DEMO_DATA": "true", "WEB_CONCURRENCY": "2"})
        web.check_health_and_a_read()
        web.check_processes(workers=2)
        step("SIGTERM with a sign-in in flight")
        answer = web.stop_with_a_request_in_flight(ADMIN)
        check(answer.startswith("HTTP/1.1 200") and "access_token" in answer, f"the in-flight sign-in got: {answer}")
        logs = web.logs()
        check("Waiting for connections to close" in logs, f"the sign-in was not in flight at SIGTERM:\n{logs}")
        check(logs.count("Application shutdown complete") == 2, f"both workers should shut down cleanly:\n{logs}")
        check(ADMIN["password"] not in logs and prod["SECRET_KEY"] not in logs, "a secret reached the log")

        step("PostgreSQL without a release step: AUTO_MIGRATE=true migrates at start")
        auto = rehearsal.start(
            "auto-migrate", {"DATABASE_URL": rehearsal.fresh_database("auto"), "AUTO_MIGRATE": "true"}
        )
        auto.check_health_and_a_read()
        auto.terminate_and_wait()

        step("SQLite in a volume: a note written before the container is replaced is still there after")
        volume = rehearsal.volume()
        user = {"email": "reader@example.com", "password": secrets.token_urlsafe(16)}
        first = rehearsal.start("sqlite-1", {}, volume)
        first.check_health_and_a_read()
        first.check_processes(workers=1)
        check(first.client.post("/auth/register", json=user).status_code == 201, "sign-up failed")
        note = {"pep_number": 8, "body": f"written before the restart {rehearsal.run_id}"}
        created = first.client.post("/me/notes", json=note, headers=sign_in(first, user))
        check(created.status_code == 201, f"the note was refused: {created.status_code} {created.text}")
        first.terminate_and_wait()
        podman("rm", first.name)
        second = rehearsal.start("sqlite-2", {}, volume)
        notes = second.client.get("/me/notes", headers=sign_in(second, user)).json()
        check(str(note["body"]) in str(notes), f"the note did not survive the restart: {notes}")
        second.terminate_and_wait()
        step("cleaning up")


def sign_in(container: Container, user: dict[str, str]) -> dict[str, str]:
    token = container.client.post("/auth/token", data={"username": user["email"], "password": user["password"]})
    check(token.status_code == 200, f"sign-in failed: {token.status_code} {token.text}")
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres", help="A URL that may create databases."
    )
    parser.add_argument("--database-prefix", default="pep_container_", help="Names of the databases it creates.")
    args = parser.parse_args()
    # A stopped run (CI's time limit, Ctrl-C) still removes what it made: SystemExit unwinds the clean-up.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    started = time.monotonic()
    try:
        rehearse(args.admin_url, args.database_prefix)
    except RehearsalFailed as error:
        print(f"CONTAINER REHEARSAL FAILED: {error}", file=sys.stderr)
        return 1
    print(f"Container rehearsal passed in {time.monotonic() - started:.0f} s.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
