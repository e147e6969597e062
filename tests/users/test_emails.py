"""One spelling per address, everywhere; look-alikes of an existing account are refused."""

import unicodedata

import pytest
from httpx import AsyncClient

from app.users.emails import email_skeleton, normalise_email
from tests.conftest import PASSWORD, sign_in


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("  Ada@Example.COM ", "ada@example.com"),
        ("user@xn--bcher-kva.example", "user@bücher.example"),
        ("user@BÜCHER.example", "user@bücher.example"),
        ("user@\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45.com", "user@example.com"),  # full-width domain
        (unicodedata.normalize("NFD", "josé@example.com"), unicodedata.normalize("NFC", "josé@example.com")),
    ],
)
def test_addresses_are_normalised_one_way(typed: str, stored: str) -> None:
    assert normalise_email(typed) == stored


@pytest.mark.parametrize("typed", ["not-an-address", "a@b", "\ud800@example.com", "a@@example.com"])
def test_non_addresses_are_refused(typed: str) -> None:
    with pytest.raises(ValueError, match="not a valid email address"):
        normalise_email(typed)


@pytest.mark.parametrize(
    "variant",
    [
        " josé@bücher.example ",
        unicodedata.normalize("NFD", "JOSÉ@bücher.example"),
        "josé@xn--bcher-kva.example",
        "josé@\uff22\u00dc\uff23\uff28\uff25\uff32.example",  # full-width capitals
    ],
)
async def test_sign_in_accepts_every_spelling_of_the_registered_address(client: AsyncClient, variant: str) -> None:
    registered = await client.post("/auth/register", json={"email": "José@Bücher.example", "password": PASSWORD})
    assert registered.status_code == 201, registered.text
    assert registered.json()["email"] == unicodedata.normalize("NFC", "josé@bücher.example")
    assert (await sign_in(client, variant)).status_code == 200, variant
    again = await client.post("/auth/register", json={"email": variant, "password": PASSWORD})
    assert again.status_code == 409


@pytest.mark.parametrize(
    "lookalike",
    [
        "\u0430dmin@example.com",  # Cyrillic small a
        "\uff41dmin@example.com",  # full-width small a
        "admin@ex\u0430mple.com",  # Cyrillic small a in the domain
    ],
)
async def test_lookalikes_of_an_existing_account_are_refused(client: AsyncClient, make_user, lookalike: str) -> None:
    await make_user("admin@example.com")
    response = await client.post("/auth/register", json={"email": lookalike, "password": PASSWORD})
    assert response.status_code == 422, response.text
    [problem] = response.json()["detail"]
    assert problem["loc"] == ["body", "email"] and "looks like another account" in problem["msg"]


async def test_an_unrelated_non_latin_address_is_welcome(client: AsyncClient, make_user) -> None:
    await make_user("admin@example.com")
    response = await client.post("/auth/register", json={"email": "дмитрий@example.com", "password": PASSWORD})
    assert response.status_code == 201, response.text


def test_skeletons_see_through_disguises() -> None:
    assert email_skeleton("\u0430dmin@example.com") == email_skeleton("admin@example.com")
    assert email_skeleton("bob@example.com") != email_skeleton("rob@example.com")
