"""/me/notes: each user sees and changes only their own notes."""

from httpx import AsyncClient


async def test_note_lifecycle(client: AsyncClient, make_user) -> None:
    _, headers = await make_user()
    created = await client.post("/me/notes", json={"pep_number": 8, "body": "Read this twice."}, headers=headers)
    assert created.status_code == 201, created.text
    note = created.json()
    assert created.headers["location"] == f"/me/notes/{note['id']}"
    assert note["pep_number"] == 8 and note["body"] == "Read this twice."
    assert (await client.get(f"/me/notes/{note['id']}", headers=headers)).json() == note
    edited = await client.patch(f"/me/notes/{note['id']}", json={"body": "Read it thrice."}, headers=headers)
    assert edited.status_code == 200 and edited.json()["body"] == "Read it thrice."
    assert edited.json()["updated_at"] > note["updated_at"] and edited.json()["created_at"] == note["created_at"]
    assert (await client.delete(f"/me/notes/{note['id']}", headers=headers)).status_code == 204
    assert (await client.get(f"/me/notes/{note['id']}", headers=headers)).status_code == 404


async def test_notes_are_private(client: AsyncClient, make_user) -> None:
    _, alice = await make_user("alice@example.com")
    _, bob = await make_user("bob@example.com")
    note = (await client.post("/me/notes", json={"pep_number": 8, "body": "Alice's"}, headers=alice)).json()
    assert (await client.get("/me/notes", headers=bob)).json()["total"] == 0
    for method, kwargs in (("get", {}), ("patch", {"json": {"body": "Bob was here"}}), ("delete", {})):
        response = await client.request(method, f"/me/notes/{note['id']}", headers=bob, **kwargs)
        assert response.status_code == 404, method
        assert response.json() == {"detail": f"Note {note['id']} not found"}
    assert (await client.get(f"/me/notes/{note['id']}", headers=alice)).json()["body"] == "Alice's"


async def test_notes_need_sign_in(client: AsyncClient) -> None:
    for method, path in (
        ("get", "/me/notes"),
        ("post", "/me/notes"),
        ("get", "/me/notes/1"),
        ("delete", "/me/notes/1"),
    ):
        response = await client.request(method, path)
        assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer", (method, path)


async def test_list_paginates_and_filters_by_pep(client: AsyncClient, make_user) -> None:
    _, headers = await make_user()
    for number, body in ((8, "one"), (20, "two"), (8, "three")):
        await client.post("/me/notes", json={"pep_number": number, "body": body}, headers=headers)
    page = (await client.get("/me/notes", params={"limit": 2}, headers=headers)).json()
    assert page["total"] == 3 and len(page["items"]) == 2 and page["limit"] == 2
    assert [n["body"] for n in page["items"]] == ["three", "two"]  # newest first
    on_pep8 = (await client.get("/me/notes", params={"pep_number": 8, "sort": "created_at"}, headers=headers)).json()
    assert [n["body"] for n in on_pep8["items"]] == ["one", "three"] and on_pep8["total"] == 2


async def test_note_on_a_missing_pep_is_422(client: AsyncClient, make_user) -> None:
    _, headers = await make_user()
    response = await client.post("/me/notes", json={"pep_number": 9999, "body": "?"}, headers=headers)
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", "pep_number"] and error["msg"] == "PEP 9999 not found"
    empty = await client.post("/me/notes", json={"pep_number": 8, "body": ""}, headers=headers)
    assert empty.status_code == 422


async def test_deleting_a_pep_or_a_user_deletes_their_notes(
    client: AsyncClient, make_user, superuser_headers: dict
) -> None:
    user, headers = await make_user()
    on_pep9 = (await client.post("/me/notes", json={"pep_number": 9, "body": "x"}, headers=headers)).json()
    on_pep8 = (await client.post("/me/notes", json={"pep_number": 8, "body": "y"}, headers=headers)).json()
    assert (await client.delete("/peps/9", headers=superuser_headers)).status_code == 204
    assert (await client.get(f"/me/notes/{on_pep9['id']}", headers=headers)).status_code == 404
    assert (await client.get(f"/me/notes/{on_pep8['id']}", headers=headers)).status_code == 200
    _, other_headers = await make_user()
    other_note = (await client.post("/me/notes", json={"pep_number": 8, "body": "z"}, headers=other_headers)).json()
    assert (await client.delete(f"/users/{user.id}", headers=superuser_headers)).status_code == 204
    remaining = (await client.get("/me/notes", headers=other_headers)).json()
    assert [n["id"] for n in remaining["items"]] == [other_note["id"]]
