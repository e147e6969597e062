"""Run the generated TypeScript client's example against the real app, as CI does.

    scripts/generate-client && python scripts/client_example.py

Starts uvicorn on a free port with a scratch SQLite database (the app migrates it and loads the
bundled PEPs itself), runs `npm run example` in clients/ with API_BASE_URL pointing at it, and stops
the server. Exits non-zero if the example fails or the server logs a traceback.
"""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from local_services import RehearsalFailed, check, free_port, step, stop, wait_until_healthy

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CLIENTS = PROJECT_ROOT / "clients"


def run_example() -> None:
    check((CLIENTS / "src" / "client").is_dir(), "no generated client: run scripts/generate-client first")
    with tempfile.TemporaryDirectory(prefix="pep-client-") as folder:
        serve_and_run(Path(folder))


def serve_and_run(scratch: Path) -> None:
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if k not in ("TEST_DATABASE_URL", "REDIS_URL")}
    # Settings the example relies on, whatever a local .env says: open sign-up and the bundled PEPs.
    env |= {"DATABASE_URL": f"sqlite:///{scratch / 'example.db'}", "ENV": "dev", "AUTO_MIGRATE": "true"}
    env |= {"SEED_DEMO_DATA": "true", "ALLOW_SIGNUP": "true"}
    log = scratch / "server.log"
    step(f"starting the app on {base_url} with a scratch SQLite database")
    with log.open("w") as output:
        server = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "app.main:app", "--port", str(port)],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=output,
            stderr=output,
        )
    try:
        wait_until_healthy(server, base_url, log)
        step("running clients/example.ts")
        example = subprocess.run(
            ["npm", "run", "--silent", "example"], cwd=CLIENTS, env=env | {"API_BASE_URL": base_url}, timeout=300
        )
        check(
            example.returncode == 0,
            f"the example exited with {example.returncode}; the server's log:\n{log.read_text()}",
        )
    finally:
        stop(server)
    check("Traceback" not in log.read_text(), f"the server logged a traceback:\n{log.read_text()}")


def main() -> int:
    try:
        run_example()
    except RehearsalFailed as error:
        print(f"CLIENT EXAMPLE FAILED: {error}", file=sys.stderr)
        return 1
    print("The generated client's example passed against the live app.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
