"""`python -m app new-resource`: what it refuses, and that what it writes passes lint and the suite as it stands."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from app.generator.resource import GeneratorError, build_spec
from tests.conftest import IS_POSTGRES, fresh_database

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# The two resources, one shared resource with every type and modifier, and an owned one whose
# unique field is unique per owner and whose reference may be empty.
RESOURCES = [
    ["Bookmark", "url:str", "title:str"],
    ["Reading", "title:str", "finished:bool", "--owned"],
    [
        "Specimen",
        "name:str:unique",
        "body:text",
        "visits:int:optional",
        "score:float:index",
        "done:bool",
        "day:date:optional",
        "seen_at:datetime",
        "pep:ref:pep",
        "author:ref:author:optional",
        "slug:str:unique:optional",
    ],
    ["Shelf", "label:str:unique", "about:text:optional", "pep:ref:pep:optional", "--owned", "--plural", "shelves"],
]
PLURALS = ["bookmarks", "readings", "specimens", "shelves"]


@pytest.mark.parametrize(
    ("name", "fields", "complaint"),
    [
        ("Note", ["body:str"], "app/notes already exists"),
        ("Pep", ["title:str"], "app/peps already exists"),
        ("error", ["text:str"], "app/errors already exists"),
        ("Health", ["text:str"], "the app already has a module app/health"),
        ("Class", ["title:str"], "a Python keyword"),
        ("Settings", ["title:str"], "the app already uses the name Settings"),
        ("Session", ["title:str"], "which the generated code uses"),
        ("bad-name", ["title:str"], "is not a resource name"),
        ("Bookmark", [], "give at least one field"),
        ("Bookmark", ["url"], "is malformed"),
        ("Bookmark", ["url:str:"], "is malformed"),
        ("Bookmark", ["url:string"], "unknown type 'string'"),
        ("Bookmark", ["url:str:required"], "unknown modifier 'required'"),
        ("Bookmark", ["url:str:unique:unique"], "repeats the modifier"),
        ("Bookmark", ["url:str", "url:text"], "field 'url' is given twice"),
        ("Bookmark", ["pep:ref:pep", "pep_number:int"], "both need the name 'pep_number'"),
        ("Bookmark", ["visits:int", "min_visits:int"], "both need the name 'min_visits'"),
        ("Bookmark", ["id:int"], "is reserved"),
        ("Bookmark", ["user_id:int"], "is reserved"),
        ("Bookmark", ["sort:str"], "is reserved"),
        ("Bookmark", ["model_config:str"], "is reserved"),
        ("Bookmark", ["metadata:str"], "is reserved"),
        ("Bookmark", ["class:str"], "is a Python keyword"),
        ("Bookmark", ["Title:str"], "is not allowed"),
        ("Bookmark", ["who:ref"], "names no resource"),
        ("Bookmark", ["who:ref:user"], "a field can refer to author, pep"),
        ("Bookmark", ["done:bool:unique"], "cannot be unique"),
    ],
)
def test_refusals_name_the_problem(name: str, fields: list[str], complaint: str) -> None:
    with pytest.raises(GeneratorError, match=complaint.replace("(", r"\(")):
        build_spec(name, fields, owned=False)


def project_copy(destination: Path) -> Path:
    """The project's files (tracked, and new ones not ignored) copied into `destination`."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for relative in filter(None, listed.split("\0")):
        source = PROJECT_ROOT / relative
        if source.is_file():
            (destination / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / relative)
    return destination


def run(project: Path, *command: str, timeout: int = 600, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "PYTHONPATH": str(project), **env}
    return subprocess.run(
        [sys.executable, *command], cwd=project, env=environment, capture_output=True, text=True, timeout=timeout
    )


def snapshot(project: Path) -> dict[str, bytes]:
    return {str(p.relative_to(project)): p.read_bytes() for p in sorted(project.rglob("*")) if p.is_file()}


async def test_generated_resources_pass_lint_and_the_suite(tmp_path: Path) -> None:
    """The issue's 'done means', with no edit by hand: generate, lint, then the generated tests, the
    migration tests and the Schemathesis run on the new operations, on the database under test."""
    project = project_copy(tmp_path / "project")
    before = snapshot(project)
    dry = run(project, "-m", "app", "new-resource", *RESOURCES[0], "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "class BookmarkCreate(BookmarkBase)" in dry.stdout and "nothing was written" in dry.stdout
    assert snapshot(project) == before

    for resource in RESOURCES:
        made = run(project, "-m", "app", "new-resource", *resource)
        assert made.returncode == 0, made.stderr
        assert "alembic upgrade head" in made.stdout and "alembic/versions/" in made.stdout
    after = snapshot(project)
    again = run(project, "-m", "app", "new-resource", "Bookmark", "url:str")
    assert again.returncode == 1 and "app/bookmarks already exists" in again.stderr
    assert "Nothing was written" in again.stderr and "Traceback" not in again.stderr
    assert snapshot(project) == after

    for lint in (["ruff", "check", "."], ["ruff", "format", "--check", "."], ["mypy"]):
        linted = run(project, "-m", *lint)
        assert linted.returncode == 0, linted.stdout + linted.stderr

    # test_openapi: the generator records the new operations and schemas in the API snapshot itself.
    tests = [f"tests/test_{plural}.py" for plural in PLURALS]
    tests += ["tests/test_migrations.py", "tests/test_openapi.py", "tests/test_fuzz_api.py"]
    # The fuzz run is limited to the resources with every type, modifier and kind of access (Bookmark's
    # and Reading's code is a subset of theirs), to keep the test's time down; the suite fuzzes the rest.
    selection = "not test_generated_requests_get_documented_answers or specimens or shelves"
    async with fresh_database(tmp_path) as database_url:
        settings = {"TEST_DATABASE_URL": database_url} if IS_POSTGRES else {}
        ran = run(
            project, "-m", "pytest", "-q", "-p", "no:cacheprovider", *tests, "-k", selection, timeout=1500, **settings
        )
    assert ran.returncode == 0, ran.stdout[-5000:] + ran.stderr[-2000:]
    assert " passed" in ran.stdout and "failed" not in ran.stdout and "skipped" not in ran.stdout
