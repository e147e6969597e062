"""The /authors routes over HTTP, checked against the bundled feed."""

from collections import Counter

from httpx import AsyncClient


def pep_counts(catalogue: dict[int, dict]) -> Counter[str]:
    return Counter(name for record in catalogue.values() for name in record["author_names"])


async def author_id(client: AsyncClient, name: str) -> int:
    [item] = [i for i in (await client.get("/authors", params={"q": name})).json()["items"] if i["name"] == name]
    return item["id"]


async def test_list_counts_every_authors_peps(client: AsyncClient, catalogue: dict[int, dict]) -> None:
    counts = pep_counts(catalogue)
    page = (await client.get("/authors", params={"sort": "-pep_count", "limit": 5})).json()
    assert page["total"] == len(counts)
    assert [item["pep_count"] for item in page["items"]] == [n for _, n in counts.most_common(5)]
    for item in page["items"]:
        assert counts[item["name"]] == item["pep_count"]


async def test_list_sorts_by_name_and_searches_any_case(client: AsyncClient, catalogue: dict[int, dict]) -> None:
    page = (await client.get("/authors", params={"q": "LANGA"})).json()
    assert [item["name"] for item in page["items"]] == sorted(n for n in pep_counts(catalogue) if "langa" in n.lower())
    assert page["total"] == len(page["items"]) >= 1


async def test_detail_lists_the_authors_peps(client: AsyncClient, catalogue: dict[int, dict]) -> None:
    guido = await author_id(client, "Guido van Rossum")
    body = (await client.get(f"/authors/{guido}")).json()
    assert body["name"] == "Guido van Rossum"
    expected = sorted(n for n, r in catalogue.items() if "Guido van Rossum" in r["author_names"])
    assert [pep["number"] for pep in body["peps"]] == expected
    assert all("Guido van Rossum" in pep["authors"] for pep in body["peps"])


async def test_missing_author_is_404(client: AsyncClient) -> None:
    response = await client.get("/authors/999999")
    assert response.status_code == 404 and response.json() == {"detail": "Author 999999 not found"}


async def test_bad_sort_is_422(client: AsyncClient) -> None:
    response = await client.get("/authors", params={"sort": "pep"})
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["query", "sort"]


async def test_create_rename_and_delete_an_author(client: AsyncClient, superuser_headers: dict) -> None:
    created = await client.post("/authors", json={"name": "  Grace Hopper "}, headers=superuser_headers)
    assert created.status_code == 201
    body = created.json()
    assert body["name"] == "Grace Hopper" and body["pep_count"] == 0
    assert created.headers["location"] == f"/authors/{body['id']}"
    renamed = await client.patch(f"/authors/{body['id']}", json={"name": "Grace B. Hopper"}, headers=superuser_headers)
    assert renamed.status_code == 200 and renamed.json()["name"] == "Grace B. Hopper"
    assert (await client.delete(f"/authors/{body['id']}", headers=superuser_headers)).status_code == 204
    assert (await client.get(f"/authors/{body['id']}")).status_code == 404


async def test_duplicate_names_are_409(client: AsyncClient, superuser_headers: dict) -> None:
    assert (
        await client.post("/authors", json={"name": "Guido van Rossum"}, headers=superuser_headers)
    ).status_code == 409
    barry = await author_id(client, "Barry Warsaw")
    response = await client.patch(f"/authors/{barry}", json={"name": "Guido van Rossum"}, headers=superuser_headers)
    assert response.status_code == 409
    assert "already exists" in response.json()["detail"]


async def test_renaming_shows_on_every_pep(client: AsyncClient, superuser_headers: dict) -> None:
    barry = await author_id(client, "Barry Warsaw")
    await client.patch(f"/authors/{barry}", json={"name": "B. Warsaw"}, headers=superuser_headers)
    assert "B. Warsaw" in (await client.get("/peps/8")).json()["authors"]


async def test_author_still_on_a_pep_cannot_be_deleted(client: AsyncClient, superuser_headers: dict) -> None:
    guido = await author_id(client, "Guido van Rossum")
    response = await client.delete(f"/authors/{guido}", headers=superuser_headers)
    assert response.status_code == 409
    assert "take them off those PEPs first" in response.json()["detail"]
    assert (await client.get(f"/authors/{guido}")).status_code == 200
