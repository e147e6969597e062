"""`python -m app new-resource`: what it refuses, and that what it writes passes lint and the suite as it stands."""

import itertools
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from app.generator import resource as generator
from app.generator.resource import (
    GeneratorError,
    build_spec,
    describe_resource,
    plan,
    plural_of,
    render,
    tidy,
    with_model_registered,
    with_router_included,
)
from tests.conftest import IS_POSTGRES, fresh_database

PROJECT_ROOT = Path(__file__).resolve().parents[2]

# The README's two resources, one shared resource with every type and modifier, and an owned one whose
# unique field is unique per owner and whose reference may be empty. Their names are made unused in the
# copy the tests generate them in (`unused`): a user may have generated the same ones in the project.
RESOURCES = [
    ["Bookmark", "url:str", "title:str"],
    ["Reading", "title:str:contains", "finished:bool", "--owned"],
    [
        "Specimen",
        "name:str:unique",
        "body:text",
        "visits:int:optional:min=0",
        "score:float:index:min=-1.5:max=99.5",
        "done:bool",
        "day:date:optional",
        "seen_at:datetime",
        "pep:ref:pep",
        "author:ref:author:optional",
        "slug:str:unique:optional:max=40",
    ],
    [
        "Shelf",
        "label:str:unique",
        "about:text:optional:min=3",
        "pep:ref:pep:optional",
        "--owned",
        "--plural",
        "shelves",
    ],
]


@pytest.mark.parametrize(
    ("name", "fields", "message"),
    [
        ("Note", ["body:str"], "app/notes already exists: is there a Note resource already?"),
        ("Pep", ["title:str"], "app/peps already exists: is there a Pep resource already?"),
        ("error", ["text:str"], "app/errors already exists: is there an Error resource already?"),
        ("Health", ["text:str"], "the app already has a module app/health; choose another name"),
        ("Class", ["title:str"], "'Class' makes the name 'class', a Python keyword; choose another"),
        ("Settings", ["title:str"], "the app already uses the name Settings (in app/auth/outbox.py); choose another"),
        (
            "Session",
            ["title:str"],
            "'Session' would be the name 'session', which the generated code uses for something else",
        ),
        (
            "bad-name",
            ["title:str"],
            "'bad-name' is not a resource name: use letters and digits, starting with a letter, such as Bookmark",
        ),
        ("Bookmark", [], "give at least one field, for example title:str"),
        (
            "Bookmark",
            ["url"],
            "field 'url' is malformed: write NAME:TYPE, for example title:str or visits:int:optional",
        ),
        (
            "Bookmark",
            ["url:str:"],
            "field 'url:str:' is malformed: write NAME:TYPE, for example title:str or visits:int:optional",
        ),
        (
            "Bookmark",
            ["url:string"],
            "field 'url:string' has an unknown type 'string'; the types are str, text, int, float, bool, date, datetime, ref",
        ),
        (
            "Bookmark",
            ["url:str:required"],
            "field 'url:str:required' has an unknown modifier 'required'; they are optional, unique, index, contains, min=N, max=N",
        ),
        ("Bookmark", ["url:str:unique:unique"], "field 'url:str:unique:unique' repeats the modifier 'unique'"),
        ("Bookmark", ["n:int:min=1:min=2"], "field 'n:int:min=1:min=2' repeats the modifier 'min='"),
        ("Bookmark", ["n:int:min=five"], "field 'n:int:min=five': min= must be a whole number, not 'five'"),
        ("Bookmark", ["n:int:min=1.5"], "field 'n:int:min=1.5': min= must be a whole number, not '1.5'"),
        ("Bookmark", ["x:float:max=big"], "field 'x:float:max=big': max= must be a number, not 'big'"),
        ("Bookmark", ["t:str:max=0"], "field 't:str:max=0': max= must be a length of 1 or more, not '0'"),
        ("Bookmark", ["n:int:min=5:max=4"], "field 'n:int:min=5:max=4': min=5 is larger than max=4"),
        (
            "Bookmark",
            ["d:date:min=1"],
            "field 'd:date:min=1': min= applies to int, float (values), str and text (lengths)",
        ),
        (
            "Bookmark",
            ["body:text:contains"],
            "field 'body:text:contains': only a str field takes `contains` (text is searched by `q` already)",
        ),
        ("Bookmark", ["url:str", "url:text"], "field 'url' is given twice"),
        (
            "Bookmark",
            ["pep:ref:pep", "pep_number:int"],
            "fields 'pep' and 'pep_number' both need the name 'pep_number'",
        ),
        (
            "Bookmark",
            ["visits:int", "min_visits:int"],
            "fields 'visits' and 'min_visits' both need the name 'min_visits'",
        ),
        (
            "Bookmark",
            ["id:int"],
            "field name 'id' is reserved (the generated code uses it, or SQLModel does; reserved: created_at, cursor, id, limit, offset, owner, owner_id, q, sort, updated_at, user, user_id, and SQLModel's own names such as metadata and model_...)",
        ),
        (
            "Bookmark",
            ["user_id:int"],
            "field name 'user_id' is reserved (the generated code uses it, or SQLModel does; reserved: created_at, cursor, id, limit, offset, owner, owner_id, q, sort, updated_at, user, user_id, and SQLModel's own names such as metadata and model_...)",
        ),
        (
            "Bookmark",
            ["sort:str"],
            "field name 'sort' is reserved (the generated code uses it, or SQLModel does; reserved: created_at, cursor, id, limit, offset, owner, owner_id, q, sort, updated_at, user, user_id, and SQLModel's own names such as metadata and model_...)",
        ),
        (
            "Bookmark",
            ["model_config:str"],
            "field name 'model_config' is reserved (the generated code uses it, or SQLModel does; reserved: created_at, cursor, id, limit, offset, owner, owner_id, q, sort, updated_at, user, user_id, and SQLModel's own names such as metadata and model_...)",
        ),
        (
            "Bookmark",
            ["metadata:str"],
            "field name 'metadata' is reserved (the generated code uses it, or SQLModel does; reserved: created_at, cursor, id, limit, offset, owner, owner_id, q, sort, updated_at, user, user_id, and SQLModel's own names such as metadata and model_...)",
        ),
        ("Bookmark", ["class:str"], "field name 'class' is a Python keyword; choose another"),
        (
            "Bookmark",
            ["Title:str"],
            "field name 'Title' is not allowed: use lower-case letters, digits and _, such as title",
        ),
        ("Bookmark", ["who:ref"], "field 'who:ref' names no resource: write for example pep:ref:pep"),
        ("Bookmark", ["who:ref:user"], "field 'who:ref:user' refers to 'user'; a field can refer to author, pep"),
        (
            "Bookmark",
            ["done:bool:unique"],
            "field 'done:bool:unique': a yes/no field cannot be unique (only two rows could exist)",
        ),
    ],
)
def test_refusals_name_the_problem(name: str, fields: list[str], message: str) -> None:
    with pytest.raises(GeneratorError) as refused:
        build_spec(name, fields, owned=False)
    assert str(refused.value) == message


@pytest.mark.parametrize(
    ("given", "cls", "snake", "plural"),
    [
        ("Bookmark", "Bookmark", "bookmark", "bookmarks"),
        ("bookmark", "Bookmark", "bookmark", "bookmarks"),
        ("ReadingList", "ReadingList", "reading_list", "reading_lists"),
        ("reading_list", "ReadingList", "reading_list", "reading_lists"),
        ("HTTPServer", "HTTPServer", "http_server", "http_servers"),
        ("Category", "Category", "category", "categories"),
        ("Day", "Day", "day", "days"),
        ("Box", "Box", "box", "boxes"),
        ("Bus", "Bus", "bus", "buses"),
        ("Batch", "Batch", "batch", "batches"),
        ("Wish", "Wish", "wish", "wishes"),
        ("Waltz", "Waltz", "waltz", "waltzes"),
    ],
)
def test_names_and_plurals(given: str, cls: str, snake: str, plural: str) -> None:
    resource = describe_resource(given, ["title:str"], owned=False)
    assert (resource.cls, resource.snake, resource.plural) == (cls, snake, plural)
    assert resource.prefix == f"/{plural}" and resource.operation == plural.replace("_", "-")
    assert resource.collection == plural.upper()
    assert describe_resource(given, ["title:str"], owned=True).prefix == f"/me/{plural}"


@pytest.mark.parametrize(
    ("given", "human", "human_plural", "article"),
    [("ReadingList", "reading list", "reading lists", "a"), ("Apple", "apple", "apples", "an")],
)
def test_the_words_used_in_descriptions(given: str, human: str, human_plural: str, article: str) -> None:
    resource = describe_resource(given, ["title:str"], owned=False)
    assert (resource.human, resource.human_plural, resource.article) == (human, human_plural, article)


@pytest.mark.parametrize(
    ("name", "plural", "message"),
    [
        (
            "Bad__Name",
            None,
            "'Bad__Name' is not a resource name: use letters and digits, starting with a letter, such as Bookmark",
        ),
        ("Mine", "me", "the app already serves /me; choose another name"),
        ("Bookmark", "Bad-Plural", "--plural 'Bad-Plural' is not allowed: use lower-case letters, digits and _"),
    ],
)
def test_refusals_that_need_a_plural_or_a_name_of_their_own(name: str, plural: str | None, message: str) -> None:
    """A double underscore (Python's own names), a prefix under which the app already serves routes, and
    a --plural that is no name."""
    with pytest.raises(GeneratorError) as refused:
        build_spec(name, ["title:str"], owned=False, plural=plural)
    assert str(refused.value) == message


def unused(root: Path, name: str) -> str:
    """`name`, or `name2`, `name3`...: the first the project at `root` has no resource of yet."""
    for suffix in ["", *map(str, range(2, 100))]:
        try:
            build_spec(name + suffix, ["title:str"], owned=False, root=root)
        except GeneratorError:
            continue
        return name + suffix
    raise AssertionError(f"no unused name like {name}")


def test_a_resource_whose_test_folder_exists_is_refused(tmp_path: Path) -> None:
    """Another project layout (`root`): its own files decide, the app's routes and tables still count."""
    name = unused(tmp_path, "Gadget")
    plural = plural_of(name.lower())
    (tmp_path / "tests" / plural).mkdir(parents=True)
    with pytest.raises(GeneratorError) as refused:
        build_spec(name, ["title:str"], owned=False, root=tmp_path)
    assert str(refused.value) == f"tests/{plural} already exists; choose another name"
    (tmp_path / "app" / plural).mkdir(parents=True)
    with pytest.raises(GeneratorError, match=f"app/{plural} already exists: is there a {name} resource already"):
        build_spec(name, ["title:str"], owned=False, root=tmp_path)


def test_the_references_are_named_in_the_generated_service() -> None:
    resource = describe_resource("Bookmark", ["author:ref:author", "pep:ref:pep:optional"], owned=False)
    service = render("service.py.mako", resource, PROJECT_ROOT / "app" / "bookmarks" / "service.py", PROJECT_ROOT)
    assert 'REFERENCES = {"author_id": "Author", "pep_number": "PEP"}' in service
    assert "await save(session, bookmark, references=REFERENCES)" in service


def test_code_ruff_refuses_is_reported_with_ruffs_words() -> None:
    with pytest.raises(GeneratorError) as refused:
        tidy("def f(:\n", PROJECT_ROOT / "app" / "broken.py", PROJECT_ROOT)
    first, second, *_ = str(refused.value).splitlines()
    assert first == "the code generated for app/broken.py does not pass ruff (a template needs fixing):"
    assert second.startswith("invalid-syntax: ")


def test_an_unknown_reference_lists_the_known_ones() -> None:
    with pytest.raises(GeneratorError) as refused:
        describe_resource("Bookmark", ["who:ref:user"], owned=False)
    assert str(refused.value) == "field 'who:ref:user' refers to 'user'; a field can refer to author, pep"


# Written out, not read from the generator: each is a name the generated code already uses.
RESERVED = ["id", "user_id", "owner_id", "owner", "user", "created_at", "updated_at", "limit", "offset", "cursor"]
RESERVED += ["sort", "q", "metadata", "model_fields", "model_dump", "sa_column", "sqlmodel_update"]
# Pydantic's and SQLModel's namespaces, names they do not use yet included.
RESERVED += ["model_number", "sa_extra", "sqlmodel_extra"]
GENERATED_CODE_NAMES = ["session", "data", "values", "changes", "read", "params", "response", "owner", "user"]
GENERATED_CODE_NAMES += ["service", "router", "item", "items", "page", "writer", "create", "client", "load", "save"]


@pytest.mark.parametrize("name", RESERVED)
def test_every_reserved_field_name_is_refused(name: str) -> None:
    with pytest.raises(GeneratorError, match=f"field name '{name}' is reserved"):
        describe_resource("Bookmark", [f"{name}:str"], owned=False)


@pytest.mark.parametrize("name", GENERATED_CODE_NAMES)
def test_a_resource_named_like_a_local_of_the_generated_code_is_refused(name: str) -> None:
    with pytest.raises(GeneratorError, match="which the generated code uses for something else"):
        describe_resource(name.capitalize(), ["title:str"], owned=False)


@pytest.mark.parametrize(
    ("raw", "annotation", "field_args", "sort", "filters"),
    [
        ("label:str", "str", "min_length=1, max_length=200", "lower", ["label"]),
        ("body:text", "str", "min_length=1, max_length=10_000", None, []),
        ("body:text:optional", "str | None", "default=None, min_length=1, max_length=10_000", None, []),
        ("visits:int", "StrictInt", "ge=-2_147_483_648, le=2_147_483_647", "column", ["min_visits", "max_visits"]),
        ("score:float:index", "StrictFiniteFloat", "index=True", "column", ["min_score", "max_score"]),
        ("done:bool:optional", "StrictBool | None", "default=None", "column", ["done"]),
        ("day:date", "IsoDate", "", "column", ["day_after", "day_before"]),
        ("at:datetime", "IsoDateTime", "sa_type=UTCDateTime", "column", ["at_after", "at_before"]),
        (
            "pep:ref:pep",
            "StrictInt",
            'ge=0, le=99999, foreign_key="pep.number", ondelete="CASCADE", index=True',
            "column",
            ["pep_number"],
        ),
        (
            "author:ref:author:optional",
            "StrictInt | None",
            'default=None, ge=1, le=MAX_ID, foreign_key="author.id", ondelete="SET NULL", index=True',
            "column",
            ["author_id"],
        ),
        ("code:str:unique", "str", "min_length=1, max_length=200, unique=True", "lower", ["code"]),
        ("pages:int:min=0:max=5000", "StrictInt", "ge=0, le=5000", "column", ["min_pages", "max_pages"]),
        ("ratio:float:min=0.5", "StrictFiniteFloat", "ge=0.5", "column", ["min_ratio", "max_ratio"]),
        ("title:str:contains:max=80", "str", "min_length=1, max_length=80", "lower", ["title", "title_contains"]),
        ("bio:text:min=10", "str", "min_length=10, max_length=10_000", None, []),
    ],
)
def test_what_each_type_and_modifier_declares(
    raw: str, annotation: str, field_args: str, sort: str | None, filters: list[str]
) -> None:
    """The column and body type, the list's filters and sort each kind of field gets (long text is searched
    by `q`, not sorted; NULLs sort last ascending on both databases, so optional fields sort too)."""
    [spec] = describe_resource("Bookmark", [raw], owned=False).fields
    assert (spec.annotation, spec.field_args, spec.sort) == (annotation, field_args, sort)
    assert [f["name"] for f in spec.filters] == filters
    examples = [spec.sample(i) for i in range(3)]
    assert len({repr(e) for e in examples}) == (2 if spec.kind == "bool" else 3), "distinct examples"
    bounds = {"ge": spec.minimum, "min_length": spec.minimum, "le": spec.maximum, "max_length": spec.maximum}
    for name, bound in bounds.items():
        if bound is not None and f"{name}=" in field_args:
            low = name in ("ge", "min_length")
            measure = [len(e) if isinstance(e, str) else e for e in examples]
            assert all(m >= float(bound) if low else m <= float(bound) for m in measure), (name, examples)


@pytest.mark.parametrize(
    ("raw", "update_annotation", "update_args"),
    [
        ("label:str", "str | MISSING", "default=MISSING, min_length=1, max_length=200"),
        ("visits:int", "StrictInt | MISSING", "default=MISSING, ge=-2_147_483_648, le=2_147_483_647"),
        ("pep:ref:pep", "StrictInt | MISSING", "default=MISSING, ge=0, le=99999"),
        ("at:datetime:index", "IsoDateTime | MISSING", "default=MISSING"),
        ("note:str:optional", "str | None", "default=None, min_length=1, max_length=200"),
    ],
)
def test_an_update_may_leave_any_field_out_but_not_null_a_required_one(
    raw: str, update_annotation: str, update_args: str
) -> None:
    [spec] = describe_resource("Bookmark", [raw], owned=False).fields
    assert (spec.update_annotation, spec.update_field_args) == (update_annotation, update_args)


def test_samples_stay_inside_tight_bounds() -> None:
    fields = ["n:int:min=0:max=1", "x:float:max=0.2", "code:str:max=2", "long:str:min=30"]
    for spec in describe_resource("Bookmark", fields, owned=False).fields:
        examples = [spec.sample(i) for i in range(3)]
        if spec.kind == "str":
            assert all(int(spec.minimum or 1) <= len(e) <= int(spec.maximum or 200) for e in examples), examples
        else:
            assert all(e <= float(spec.maximum) for e in examples) and examples == sorted(examples), examples


def test_filters_compare_as_their_names_say() -> None:
    resource = describe_resource("Visit", ["count:int", "seen_on:date", "place:str:contains", "body:text"], owned=False)
    filters = {f["name"]: (f["annotation"], f["kind"], f["args"]) for s in resource.fields for f in s.filters}
    assert filters == {
        "min_count": (
            "int | None",
            "AtLeast",
            'None, ge=-2_147_483_648, le=2_147_483_647, description="Only visits whose count is at least this."',
        ),
        "max_count": (
            "int | None",
            "AtMost",
            'None, ge=-2_147_483_648, le=2_147_483_647, description="Only visits whose count is at most this."',
        ),
        "seen_on_after": (
            "IsoDate | None",
            "AtLeast",
            'None, description="Only visits whose seen on is on or after this."',
        ),
        "seen_on_before": (
            "IsoDate | None",
            "AtMost",
            'None, description="Only visits whose seen on is on or before this."',
        ),
        "place": (
            "str | None",
            "Equals",
            'None, min_length=1, max_length=200, description="Only visits whose place is this."',
        ),
        "place_contains": (
            "str | None",
            "Contains",
            'None, min_length=1, max_length=200, description="Only visits whose place contains this (any case)."',
        ),
    }
    assert resource.filter_names == [*filters, "q"]
    assert describe_resource("Visit", ["count:int"], owned=False).filter_names == ["min_count", "max_count"]


def test_an_owned_resources_unique_field_is_unique_per_owner_not_in_the_column() -> None:
    [shared] = describe_resource("Tag", ["label:str:unique"], owned=False).fields
    [owned] = describe_resource("Tag", ["label:str:unique"], owned=True).fields
    assert "unique=True" in shared.field_args and "unique=True" not in owned.field_args
    assert owned.unique and shared.unique


MODELS_PY = """from app.notes.models import Note
from app.peps.models import Pep

__all__ = ["Note", "Pep"]
"""
MAIN_PY = """from app.auth.routes import router as auth_router
from app.notes.routes import router as notes_router


def create_app():
    for router in (notes_router, auth_router):
        app.include_router(router)
"""


def test_the_new_model_and_router_are_registered_beside_the_others() -> None:
    resource = describe_resource("Bookmark", ["url:str"], owned=False)
    models = with_model_registered(MODELS_PY, resource)
    assert "from app.bookmarks.models import Bookmark\n" in models
    assert '__all__ = ["Bookmark", "Note", "Pep"]' in models
    main = with_router_included(MAIN_PY, resource)
    assert "from app.bookmarks.routes import router as bookmarks_router\n" in main
    assert "for router in (notes_router, bookmarks_router, auth_router):" in main
    with pytest.raises(GeneratorError, match=r"cannot find `for router in \(...\)` in app/main.py"):
        with_router_included("app = FastAPI()\n", resource)


def test_a_resource_of_four_fields_reads_in_a_minute() -> None:
    """The issue's measure: the Venue example's app code in at most 150 non-blank lines."""
    resource = describe_resource(
        "Venue", ["name:str:unique", "city:str:optional", "capacity:int:min=0:max=5000", "opened_on:date"], owned=False
    )
    app_code = [
        render(template, resource, PROJECT_ROOT / "app" / "venues" / template.removesuffix(".mako"), PROJECT_ROOT)
        for template in ("models.py.mako", "service.py.mako", "routes.py.mako")
    ]
    assert sum(1 for text in app_code for line in text.splitlines() if line.strip()) <= 150


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


def fresh(root: Path, arguments: list[str]) -> list[str]:
    """`new-resource` arguments whose name (and `--plural`) the project at `root` does not use yet."""
    name = unused(root, arguments[0])
    suffix = name.removeprefix(arguments[0])
    return [
        name,
        *(
            argument + suffix if previous == "--plural" else argument
            for previous, argument in itertools.pairwise(arguments)
        ),
    ]


def test_a_failed_step_puts_every_file_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The last step fails after the files, the edits and the migration are written: all of it is undone."""
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")  # the migration's subprocess imports the copy
    project = project_copy(tmp_path / "project")
    before = snapshot(project)
    resource = build_spec(unused(project, "Bookmark"), ["url:str"], owned=False, root=project)
    work = plan(resource, project)

    def snapshot_fails(root: Path) -> None:
        assert (root / "app" / resource.plural / "models.py").is_file()
        raise GeneratorError("the OpenAPI snapshot could not be updated")

    monkeypatch.setattr(generator, "update_api_snapshot", snapshot_fails)
    with pytest.raises(GeneratorError, match="the OpenAPI snapshot could not be updated"):
        generator.apply(work, resource, project)
    after = {path: text for path, text in snapshot(project).items() if not path.startswith(".ruff_cache/")}
    assert after == before
    assert not (project / "app" / resource.plural).exists() and not (project / "tests" / resource.plural).exists()


async def test_generated_resources_pass_lint_and_the_suite(tmp_path: Path) -> None:
    """The issue's 'done means', with no edit by hand: generate, lint, then the generated tests, the
    migration tests and the Schemathesis run on the new operations, on the database under test."""
    project = project_copy(tmp_path / "project")
    before = snapshot(project)
    resources = [fresh(project, arguments) for arguments in RESOURCES]
    first = build_spec(resources[0][0], resources[0][1:], owned=False, root=project)
    dry = run(project, "-m", "app", "new-resource", *resources[0], "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert f"class {first.cls}Create({first.cls}Base)" in dry.stdout and "nothing was written" in dry.stdout
    shown = dry.stdout.splitlines()
    for path in ("__init__.py", "models.py", "service.py", "routes.py"):
        assert f"--- new file app/{first.plural}/{path}" in shown
    assert f"--- new file tests/{first.plural}/test_{first.plural}.py" in shown
    assert "--- and a new Alembic revision in alembic/versions/, autogenerated from the model" in shown
    assert snapshot(project) == before

    plurals = []
    for resource in resources:
        made = run(project, "-m", "app", "new-resource", *resource)
        assert made.returncode == 0, made.stderr
        assert "alembic upgrade head" in made.stdout and "alembic/versions/" in made.stdout
        told = made.stdout.splitlines()
        assert "Next:" in told and "  changed  app/main.py" in told
        assert any(line.startswith("  new      alembic/versions/") for line in told)
        plurals.append(next(line.split("/")[1] for line in told if line.startswith("  new      app/")))
    assert f"  new      app/{plurals[-1]}/models.py" in told
    after = snapshot(project)
    again = run(project, "-m", "app", "new-resource", resources[0][0], "url:str")
    assert again.returncode == 1 and f"app/{plurals[0]} already exists" in again.stderr
    assert "Nothing was written" in again.stderr and "Traceback" not in again.stderr
    assert snapshot(project) == after

    # Lint what the generator wrote or edited (CI lints the rest); mypy checks it with the whole app.
    written = sorted(path for path, text in after.items() if path.endswith(".py") and before.get(path) != text)
    for lint in (["ruff", "check", *written], ["ruff", "format", "--check", *written], ["mypy"]):
        linted = run(project, "-m", *lint)
        assert linted.returncode == 0, linted.stdout + linted.stderr

    # test_openapi: the generator records the new operations and schemas in the API snapshot itself.
    tests = [f"tests/{plural}" for plural in plurals]
    tests += ["tests/test_migrations.py", "tests/test_openapi.py", "tests/test_fuzz_api.py"]
    # The fuzz run is limited to the resources with every type, modifier and kind of access (the first two's
    # code is a subset of theirs), to keep the test's time down; the suite fuzzes the rest.
    selection = f"not test_generated_requests_get_documented_answers or {plurals[2]} or {plurals[3]}"
    async with fresh_database(tmp_path) as database_url:
        settings = {"TEST_DATABASE_URL": database_url} if IS_POSTGRES else {}
        ran = run(
            project, "-m", "pytest", "-q", "-p", "no:cacheprovider", *tests, "-k", selection, timeout=1500, **settings
        )
    assert ran.returncode == 0, ran.stdout[-5000:] + ran.stderr[-2000:]
    assert " passed" in ran.stdout and "failed" not in ran.stdout and "skipped" not in ran.stdout
