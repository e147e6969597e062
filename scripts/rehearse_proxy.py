"""Rehearse a caching reverse proxy in front of the app: nginx, caching exactly as the app's headers allow.

    python scripts/rehearse_proxy.py

1. starts the app (a fresh SQLite database, CACHE_MAX_AGE=2) and nginx in front of it with a proxy cache
   that honours Cache-Control, revalidates with the app's ETags, and says HIT or MISS in X-Cache-Status;
2. an anonymous read twice: the second is served by the proxy, and never reaches the app;
3. a signed-in read twice: both reach the app (its answer is private: the proxy keeps no copy);
4. a superuser edits a PEP: once `max-age` has passed, the proxy serves the new version (it asks the app with
   If-None-Match, and gets the new answer); an unchanged one it revalidates with a 304 (REVALIDATED).
Exits non-zero, saying which step failed. Installs nothing: CI installs nginx (`apt-get install nginx`).
"""

import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from local_services import RehearsalFailed, check, free_port, step, stop, wait_until_healthy

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ADMIN = {"username": "proxy-admin@example.com", "password": secrets.token_urlsafe(16)}
MAX_AGE = 2

NGINX_CONF = """
{user}
worker_processes 1;
daemon off;
pid {folder}/nginx.pid;
error_log {folder}/nginx-error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    proxy_cache_path {folder}/cache keys_zone=api:1m;
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://127.0.0.1:{app_port};
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_http_version 1.1;
            proxy_cache api;
            # Ask the app with the stored ETag once a copy is stale: a 304 refreshes it without a body.
            proxy_cache_revalidate on;
            add_header X-Cache-Status $upstream_cache_status always;
        }}
    }}
}}
"""


def app_requests(log: Path, path: str) -> int:
    """How many requests for `path` reached the app (its access log)."""
    return sum(1 for line in log.read_text().splitlines() if f'"GET {path} HTTP' in line)


def rehearse(folder: Path) -> None:
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    check(Path(nginx).exists(), "nginx is not installed: apt-get install nginx")
    app_port, proxy_port = free_port(), free_port()
    env = os.environ | {
        "DATABASE_URL": f"sqlite:///{folder / 'proxy.db'}",
        "CACHE_MAX_AGE": str(MAX_AGE),
        "CACHE_STALE_WHILE_REVALIDATE": "0",
        "FIRST_SUPERUSER_EMAIL": ADMIN["username"],
        "FIRST_SUPERUSER_PASSWORD": ADMIN["password"],
        "SECRET_KEY": secrets.token_urlsafe(48),
        "PYTHONPATH": str(PROJECT_ROOT),
    }
    app_log, nginx_log = folder / "app.log", folder / "nginx.log"
    # Started as root (CI), nginx's workers would become an unprivileged user who cannot write in this folder.
    user = "user root;" if os.geteuid() == 0 else ""
    (folder / "nginx.conf").write_text(NGINX_CONF.format(user=user, folder=folder, port=proxy_port, app_port=app_port))
    step("starting the app and nginx in front of it")
    with app_log.open("w") as output:
        app = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "app.main:app", "--port", str(app_port)],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=output,
            stderr=output,
        )
    with nginx_log.open("w") as output:
        proxy = subprocess.Popen(
            [nginx, "-c", str(folder / "nginx.conf"), "-p", str(folder)], stdout=output, stderr=output
        )
    try:
        wait_until_healthy(app, f"http://127.0.0.1:{app_port}", app_log)
        wait_until_healthy(proxy, f"http://127.0.0.1:{proxy_port}", nginx_log)
        with httpx.Client(base_url=f"http://127.0.0.1:{proxy_port}", timeout=30) as client:
            step("an anonymous read, twice: the second comes from the proxy")
            first, second = client.get("/peps/8"), client.get("/peps/8")
            check(first.headers.get("x-cache-status") == "MISS", f"first read: {first.headers.get('x-cache-status')}")
            check(second.headers.get("x-cache-status") == "HIT", f"second read: {second.headers.get('x-cache-status')}")
            check(second.json() == first.json(), "the proxy's copy differs from the app's answer")
            check(app_requests(app_log, "/peps/8") == 1, "the second anonymous read reached the app")

            step("a signed-in read, twice: both reach the app")
            token = client.post("/auth/token", data=ADMIN).json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            for _ in range(2):
                signed_in = client.get("/peps/8", headers=headers)
                check(signed_in.headers.get("x-cache-status") != "HIT", "a signed-in read was served from the cache")
            check(app_requests(app_log, "/peps/8") == 3, "a signed-in read did not reach the app")

            step(f"an edit: the proxy serves the new version once max-age ({MAX_AGE} s) has passed")
            edit = client.patch("/peps/8", json={"title": "Style Guide, behind a proxy"}, headers=headers)
            check(edit.status_code == 200, f"the edit failed: {edit.status_code} {edit.text}")
            deadline = time.monotonic() + MAX_AGE + 10
            while client.get("/peps/8").json()["title"] != "Style Guide, behind a proxy":
                check(time.monotonic() < deadline, "the proxy still serves the old version after max-age")
                time.sleep(0.5)
            time.sleep(MAX_AGE + 1)
            unchanged = client.get("/peps/8")
            check(
                unchanged.headers.get("x-cache-status") == "REVALIDATED",
                f"an unchanged stale copy was not revalidated with a 304: {unchanged.headers.get('x-cache-status')}",
            )
        step("the proxy served what the app's headers allowed, and nothing else")
    finally:
        stop(proxy)
        stop(app)


def main() -> int:
    folder = Path(tempfile.mkdtemp(prefix="pep-proxy-"))
    try:
        rehearse(folder)
    except RehearsalFailed as failure:
        print(f"proxy rehearsal failed: {failure}", file=sys.stderr)
        for log in ("app.log", "nginx-error.log"):
            if (folder / log).exists():
                print(f"--- {log}\n{(folder / log).read_text()[-3000:]}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
