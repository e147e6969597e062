<%
    samples = [{f.column: f.sample(i) for f in r.fields} for i in range(3)]
    first = r.fields[0]
    change = {first.column: first.sample(1)}
    required = [f.column for f in r.fields if not f.optional]
    filter_cases = []
    for f in r.fields:
        values = [f.sample(i) for i in range(3)]
        for flt in f.filters:
            name = flt["name"]
            if name.endswith("_contains"):
                part = str(values[1])[-3:]
                filter_cases.append(({name: part.upper()}, [i for i in range(3) if part.lower() in str(values[i]).lower()]))
            elif name.startswith("min_") or name.endswith("_after"):
                filter_cases.append(({name: values[1]}, [i for i in range(3) if values[i] >= values[1]]))
            elif name.startswith("max_") or name.endswith("_before"):
                filter_cases.append(({name: values[1]}, [i for i in range(3) if values[i] <= values[1]]))
            else:
                filter_cases.append(({name: values[1]}, [i for i in range(3) if values[i] == values[1]]))
    if r.text_fields:
        part = str(r.text_fields[0].sample(1))[-3:]
        found = [i for i in range(3) if any(part.lower() in str(f.sample(i)).lower() for f in r.text_fields)]
        filter_cases.append(({"q": part.upper()}, found))
    sort_cases = []
    for f in r.sortable:
        # Ties go by id in the sort's direction (app.listing); the samples are created in id order.
        def key(i, f=f):
            value = f.sample(i)
            return (value.lower() if f.sort == "lower" else value, i)
        sort_cases.append((f.column, sorted(range(3), key=key)))
        sort_cases.append(("-" + f.column, sorted(range(3), key=key, reverse=True)))
    sort_cases.append(("created_at", [0, 1, 2]))
    sort_cases.append(("-created_at", [2, 1, 0]))
    bounded = [(f, "minimum", f.minimum) for f in r.fields if f.minimum is not None] + [(f, "maximum", f.maximum) for f in r.fields if f.maximum is not None]
    out_of_bounds = []
    for f, which, bound in bounded:
        if f.kind in ("int", "float"):
            value = float(bound) + (-1 if which == "minimum" else 1)
            out_of_bounds.append((f.column, int(value) if f.kind == "int" else value))
        else:
            length = int(bound) + (-1 if which == "minimum" else 1)
            out_of_bounds.append((f.column, "x" * length))
%>\
"""`${r.prefix}`, as `python -m app new-resource` generated it: add tests as the resource grows."""

import pytest
from httpx import AsyncClient

PATH = "${r.prefix}"
# Three valid bodies; each test creates the rows it reads.
SAMPLES = ${repr(samples)}
CHANGE = ${repr(change)}


@pytest.fixture
async def writer(${"make_user" if r.owned else "superuser_headers: dict"}) -> dict:
    """Headers of a user who may write here."""
% if r.owned:
    return (await make_user())[1]
% else:
    return superuser_headers
% endif


async def create(client: AsyncClient, headers: dict, body: dict) -> dict:
    response = await client.post(PATH, json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


async def test_create_read_update_delete(client: AsyncClient, writer: dict) -> None:
    created = await client.post(PATH, json=SAMPLES[0], headers=writer)
    assert created.status_code == 201, created.text
    item = created.json()
    assert created.headers["location"] == f"{PATH}/{item['id']}"
    assert {name: item[name] for name in SAMPLES[0]} == SAMPLES[0]
    assert (await client.get(f"{PATH}/{item['id']}", headers=writer)).json() == item
    edited = await client.patch(f"{PATH}/{item['id']}", json=CHANGE, headers=writer)
    assert edited.status_code == 200, edited.text
    assert edited.json() == item | CHANGE | {"updated_at": edited.json()["updated_at"]}
    assert (await client.delete(f"{PATH}/{item['id']}", headers=writer)).status_code == 204
    gone = await client.get(f"{PATH}/{item['id']}", headers=writer)
    assert gone.status_code == 404 and gone.json() == {"detail": f"${r.cls} {item['id']} not found"}



async def test_a_read_names_its_version_and_a_stale_write_is_refused(client: AsyncClient, writer: dict) -> None:
    item = await create(client, writer, SAMPLES[0])
    read = await client.get(f"{PATH}/{item['id']}", headers=writer)
    etag = read.headers["etag"]
    unchanged = await client.get(f"{PATH}/{item['id']}", headers=writer | {"If-None-Match": etag})
    assert unchanged.status_code == 304 and unchanged.content == b""
    edited = await client.patch(f"{PATH}/{item['id']}", json=CHANGE, headers=writer | {"If-Match": etag})
    assert edited.status_code == 200 and edited.headers["etag"] != etag
    # The write's answer names the version a read now hands out: ready for the next If-Match.
    assert edited.headers["etag"] == (await client.get(f"{PATH}/{item['id']}", headers=writer)).headers["etag"]
    for method, body in (("patch", CHANGE), ("delete", None)):
        stale = await client.request(method, f"{PATH}/{item['id']}", json=body, headers=writer | {"If-Match": etag})
        assert stale.status_code == 412 and stale.headers["etag"] == edited.headers["etag"], method
    current = {"If-Match": edited.headers["etag"]}
    assert (await client.delete(f"{PATH}/{item['id']}", headers=writer | current)).status_code == 204


async def test_an_unknown_field_is_refused(client: AsyncClient, writer: dict) -> None:
    response = await client.post(PATH, json=SAMPLES[0] | {"no_such_field": 1}, headers=writer)
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["body", "no_such_field"]
% if out_of_bounds:


@pytest.mark.parametrize(("name", "value"), ${repr(out_of_bounds)})
async def test_values_out_of_bounds_are_refused(client: AsyncClient, writer: dict, name: str, value: object) -> None:
    response = await client.post(PATH, json=SAMPLES[0] | {name: value}, headers=writer)
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["body", name]
% endif
% if required:


@pytest.mark.parametrize("name", ${repr(required)})
async def test_a_required_field_cannot_be_set_to_null(client: AsyncClient, writer: dict, name: str) -> None:
    item = await create(client, writer, SAMPLES[0])
    response = await client.patch(f"{PATH}/{item['id']}", json={name: None}, headers=writer)
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["body", name]
% endif


@pytest.mark.parametrize(("params", "expected"), ${repr(filter_cases)})
async def test_list_filters(client: AsyncClient, writer: dict, params: dict, expected: list[int]) -> None:
    items = [await create(client, writer, body) for body in SAMPLES]
    page = (await client.get(PATH, params={**params, "sort": "created_at"}, headers=writer)).json()
    assert [item["id"] for item in page["items"]] == [items[i]["id"] for i in expected]
    assert page["total"] == len(expected)


@pytest.mark.parametrize(("sort", "expected"), ${repr(sort_cases)})
async def test_list_sorts(client: AsyncClient, writer: dict, sort: str, expected: list[int]) -> None:
    items = [await create(client, writer, body) for body in SAMPLES]
    page = (await client.get(PATH, params={"sort": sort}, headers=writer)).json()
    assert [item["id"] for item in page["items"]] == [items[i]["id"] for i in expected]


async def test_list_pages(client: AsyncClient, writer: dict) -> None:
    items = [await create(client, writer, body) for body in SAMPLES]
    page = (await client.get(PATH, params={"limit": 2, "sort": "created_at"}, headers=writer)).json()
    assert [item["id"] for item in page["items"]] == [items[0]["id"], items[1]["id"]]
    assert (page["total"], page["limit"], page["offset"]) == (3, 2, 0)
    rest = (await client.get(PATH, params={"limit": 2, "offset": 2, "sort": "created_at"}, headers=writer)).json()
    assert [item["id"] for item in rest["items"]] == [items[2]["id"]] and rest["total"] == 3
    unknown = await client.get(PATH, params={"no_such_filter": "1"}, headers=writer)
    assert unknown.status_code == 422
% if r.owned:


async def test_rows_are_private(client: AsyncClient, make_user) -> None:
    _, alice = await make_user()
    _, bob = await make_user()
    item = await create(client, alice, SAMPLES[0])
    assert (await client.get(PATH, headers=bob)).json()["total"] == 0
    for method, body in (("get", None), ("patch", CHANGE), ("delete", None)):
        response = await client.request(method, f"{PATH}/{item['id']}", json=body, headers=bob)
        assert response.status_code == 404, method
        assert response.json() == {"detail": f"${r.cls} {item['id']} not found"}
    assert (await client.get(f"{PATH}/{item['id']}", headers=alice)).json() == item


async def test_sign_in_is_needed(client: AsyncClient) -> None:
    for method, path in (("get", PATH), ("post", PATH), ("get", f"{PATH}/1"), ("patch", f"{PATH}/1"), ("delete", f"{PATH}/1")):
        response = await client.request(method, path)
        assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer", (method, path)
% else:


async def test_anyone_reads_and_only_a_superuser_writes(client: AsyncClient, writer: dict, make_user) -> None:
    item = await create(client, writer, SAMPLES[0])
    assert (await client.get(PATH)).json()["items"] == [item]
    assert (await client.get(f"{PATH}/{item['id']}")).json() == item
    _, user = await make_user()
    for method, path, body in (("post", PATH, SAMPLES[1]), ("patch", f"{PATH}/{item['id']}", CHANGE), ("delete", f"{PATH}/{item['id']}", None)):
        assert (await client.request(method, path, json=body, headers=user)).status_code == 403, method
        assert (await client.request(method, path, json=body)).status_code == 401, method
    assert (await client.get(f"{PATH}/{item['id']}")).json() == item
% endif
% if r.unique_fields:


async def test_unique_fields_refuse_a_second_row(client: AsyncClient, writer: dict) -> None:
    await create(client, writer, SAMPLES[0])
    for name in ${repr([f.column for f in r.unique_fields])}:
        response = await client.post(PATH, json=SAMPLES[1] | {name: SAMPLES[0][name]}, headers=writer)
        assert response.status_code == 409, name
        assert response.json() == {"detail": "Another ${r.human} has the same ${" or ".join(f.column for f in r.unique_fields)}"}
% endif
% for f in r.references:


async def test_${f.column}_must_exist(client: AsyncClient, writer: dict) -> None:
    missing = ${9999 if f.reference.table == "pep" else 2_000_000_000}
    response = await client.post(PATH, json=SAMPLES[0] | {"${f.column}": missing}, headers=writer)
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", "${f.column}"] and error["msg"] == f"${f.reference.label} {missing} not found"
    item = await create(client, writer, SAMPLES[0])
    edited = await client.patch(f"{PATH}/{item['id']}", json={"${f.column}": missing}, headers=writer)
    assert edited.status_code == 422 and edited.json()["detail"][0]["loc"] == ["body", "${f.column}"]
% endfor
