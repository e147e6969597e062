"""Reads cost a fixed number of statements however many rows or authors come back (no N+1)."""

import pytest
from httpx import AsyncClient

from tests.conftest import StatementCounter


async def statements_for(client: AsyncClient, counter: StatementCounter, url: str) -> int:
    await counter.reset()
    response = await client.get(url)
    assert response.status_code == 200
    return await counter.count()


@pytest.mark.parametrize(
    ("small", "large"),
    [
        ("/peps?limit=1", "/peps?limit=100"),
        ("/peps?limit=2&author=guido", "/peps?limit=100&author=a"),
        ("/authors?limit=1", "/authors?limit=100&sort=-pep_count"),
    ],
)
async def test_list_cost_does_not_grow_with_page_size(
    client: AsyncClient, count_statements: StatementCounter, small: str, large: str
) -> None:
    few = await statements_for(client, count_statements, small)
    many = await statements_for(client, count_statements, large)
    assert few == many
    assert many == 1  # the page, its rows' authors and the total, in one statement


async def test_detail_cost_does_not_grow_with_author_count(
    client: AsyncClient, count_statements: StatementCounter, catalogue: dict[int, dict]
) -> None:
    most = max(catalogue.values(), key=lambda record: len(record["author_names"]))
    one = next(r for r in catalogue.values() if len(r["author_names"]) == 1)
    assert len(most["author_names"]) > 20
    assert await statements_for(client, count_statements, f"/peps/{one['number']}") == 1
    assert await statements_for(client, count_statements, f"/peps/{most['number']}") == 1


async def test_author_detail_cost_does_not_grow_with_pep_count(
    client: AsyncClient, count_statements: StatementCounter
) -> None:
    authors = (await client.get("/authors?sort=-pep_count&limit=100")).json()["items"]
    busiest, quietest = authors[0], authors[-1]
    assert busiest["pep_count"] > 10 * quietest["pep_count"]
    assert await statements_for(client, count_statements, f"/authors/{busiest['id']}") == 2  # author, PEPs
    assert await statements_for(client, count_statements, f"/authors/{quietest['id']}") == 2


async def test_an_empty_page_costs_a_count_only_past_the_end(
    client: AsyncClient, count_statements: StatementCounter, catalogue: dict[int, dict]
) -> None:
    """The total rides on the page's rows; only a page past the end, with no row, needs its own count."""
    assert await statements_for(client, count_statements, "/peps?q=no-pep-has-this-title") == 1
    assert (await client.get("/peps?q=no-pep-has-this-title")).json()["total"] == 0
    past_the_end = f"/peps?offset={len(catalogue) + 10}"
    assert await statements_for(client, count_statements, past_the_end) == 2
    assert (await client.get(past_the_end)).json()["total"] == len(catalogue)


async def test_the_user_list_costs_one_statement(
    client: AsyncClient, count_statements: StatementCounter, superuser_headers: dict, make_user
) -> None:
    for _ in range(3):
        await make_user()
    await count_statements.reset()
    response = await client.get("/users?limit=100", headers=superuser_headers)
    assert response.status_code == 200 and response.json()["total"] >= 4
    # The signed-in superuser (one query), then the page with its total (one statement).
    assert await count_statements.count() == 2
