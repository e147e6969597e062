"""The OpenAPI document generated clients are built from: its servers entry, the file command, the snapshot."""

import copy
import json
from pathlib import Path

import pytest
from httpx import AsyncClient

from app import __main__ as commands
from app.config import ConfigError, get_settings, load_settings
from app.main import app, create_app
from app.openapi import SNAPSHOT_PATH, UPDATE_COMMAND, snapshot_changes, update_snapshot


def test_the_schema_keeps_the_names_in_the_committed_snapshot(tmp_path: Path) -> None:
    changes = snapshot_changes(app.openapi())
    assert not changes, (
        "The API's operationIds or schemas differ from clients/openapi-snapshot.json, so generated clients "
        "would change:\n  " + "\n  ".join(changes) + f"\nIf this is deliberate, run `{UPDATE_COMMAND}` and commit "
        "the snapshot with the change (and say so to the frontend developers)."
    )
    rewritten = update_snapshot(tmp_path / "snapshot.json", app.openapi())
    assert SNAPSHOT_PATH.read_text() == rewritten.read_text(), (
        f"the snapshot was edited by hand: run `{UPDATE_COMMAND}`"
    )


def test_renamed_removed_added_and_changed_names_are_each_reported(tmp_path: Path) -> None:
    snapshot = update_snapshot(tmp_path / "snapshot.json", app.openapi())
    document = copy.deepcopy(app.openapi())
    list_parameters = document["paths"]["/peps"]["get"]["parameters"]
    query_before = "&".join(sorted(p["name"] for p in list_parameters if p["in"] == "query"))
    query_after = "&".join(sorted([p["name"] for p in list_parameters if p["in"] == "query"] + ["since"]))
    page_fields = sorted(document["components"]["schemas"]["PepPage"]["properties"])
    document["paths"]["/peps/{number}"]["get"]["operationId"] = "peps-read"
    list_parameters.append({"name": "since", "in": "query", "schema": {}})
    schemas = document["components"]["schemas"]
    schemas["PepList"] = schemas.pop("PepPage")
    schemas["NotePublic"]["properties"]["title"] = {"type": "string"}
    schemas["PepType"]["enum"].append("Experimental")

    changes = snapshot_changes(document, snapshot)

    assert changes == [
        "operation 'peps-get' is gone (was GET /peps/{number})",
        f"operation 'peps-list' changed: GET /peps?{query_before} -> GET /peps?{query_after}",
        "operation 'peps-read' is new: GET /peps/{number}",
        "schema 'NotePublic' changed: ['body', 'created_at', 'id', 'pep_number', 'updated_at'] -> "
        "['body', 'created_at', 'id', 'pep_number', 'title', 'updated_at']",
        f"schema 'PepList' is new: {page_fields}",
        f"schema 'PepPage' is gone (was {page_fields})",
        "schema 'PepType' changed: ['Informational', 'Process', 'Standards Track'] -> "
        "['Experimental', 'Informational', 'Process', 'Standards Track']",
    ]
    assert snapshot_changes(app.openapi(), snapshot) == []


def test_descriptions_and_examples_are_not_part_of_the_snapshot(tmp_path: Path) -> None:
    snapshot = update_snapshot(tmp_path / "snapshot.json", app.openapi())
    document = copy.deepcopy(app.openapi())
    document["paths"]["/peps"]["get"]["description"] = "Reworded."
    document["components"]["schemas"]["PepSummary"]["properties"]["title"]["examples"] = ["Another"]
    assert snapshot_changes(document, snapshot) == []


async def test_the_served_document_names_a_relative_server_by_default(client: AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    assert spec["servers"] == [{"url": "/"}]


@pytest.mark.parametrize(
    ("setting", "server"),
    [("https://api.example.com/", "https://api.example.com"), ("/api/", "/api"), ("/", "/")],
)
def test_api_public_url_becomes_the_servers_entry(monkeypatch: pytest.MonkeyPatch, setting: str, server: str) -> None:
    monkeypatch.setattr(get_settings(), "api_public_url", load_settings(api_public_url=setting).api_public_url)
    assert create_app().openapi()["servers"] == [{"url": server}]


@pytest.mark.parametrize(
    "value", ["", "api.example.com", "ftp://api.example.com", "//api.example.com", "https://", "https://a.example?x=1"]
)
def test_api_public_url_must_be_an_http_url_or_a_path(value: str) -> None:
    with pytest.raises(ConfigError, match=r"API_PUBLIC_URL: must be an http\(s\) URL"):
        load_settings(api_public_url=value)


def test_the_command_writes_the_document_without_a_server(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    output = tmp_path / "openapi.json"
    assert commands.main(["openapi", "--output", str(output)]) == 0
    assert json.loads(output.read_text()) == app.openapi()
    assert commands.main(["openapi"]) == 0
    assert json.loads(capsys.readouterr().out) == app.openapi()


def test_the_command_updates_the_snapshot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    snapshot = tmp_path / "snapshot.json"
    monkeypatch.setattr(commands, "SNAPSHOT_PATH", snapshot)
    assert commands.main(["openapi", "--update-snapshot"]) == 0
    assert snapshot.read_text() == SNAPSHOT_PATH.read_text()
