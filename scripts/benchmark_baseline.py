"""The benchmark's yardstick: the same reads and the note write as the app, on the raw driver behind bare Starlette.

    python scripts/benchmark_baseline.py --database-url URL --secret-key KEY --port PORT

It answers the benchmark's paths with byte-for-byte the JSON the app gives (the benchmark checks that
before it measures), using hand-written SQL on asyncpg (PostgreSQL) or the `sqlite3` module called
directly in the event loop (SQLite). No framework, no ORM, no validation: what the hardware can do.
Only what the benchmark asks is supported; it is not a second implementation of the API.
"""

import argparse
import json
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from typing import Any

import asyncpg
import jwt
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

PEP_COLUMNS = (
    "number, title, status, type, topic, created, python_version, discussions_to, post_history, resolution, "
    "requires, replaces, superseded_by, abstract, url, created_at, updated_at"
)
SUMMARY_COLUMNS = "number, title, status, type, topic, created, python_version"
# Each sort with its tiebreak, which follows the sort's direction, as the app's lists do.
SORTS = {
    "number": "number",
    "-number": "number DESC",
    "created": "created, number",
    "-created": "created DESC, number DESC",
}
AUTHOR_SORTS = {
    "name": "name, author.id",
    "-name": "name DESC, author.id DESC",
    "pep_count": "pep_count, author.id",
    "-pep_count": "pep_count DESC, author.id DESC",
}
NOTE_SORTS = {"-created_at": "created_at DESC, id DESC", "created_at": "created_at, id"}
# The app's `next_cursor` is signed for its own lists; the benchmark compares only whether there is one.
MORE = "more"


def iso(value: Any) -> Any:
    """Dates and UTC times written as the app's JSON writes them."""
    if isinstance(value, datetime):
        text = value.astimezone(UTC).isoformat() if value.tzinfo else value.isoformat()
        return text.replace("+00:00", "Z") if value.tzinfo else text + "Z"
    if isinstance(value, date):
        return value.isoformat()
    return value


def json_response(content: Any, status_code: int = 200) -> Response:
    body = json.dumps(content, ensure_ascii=False, separators=(",", ":"), default=iso)
    return Response(body, status_code=status_code, media_type="application/json")


def page_response(rows: list[Any], total: int, limit: int, offset: int) -> Response:
    """A page from its rows read with one more than `limit`, the extra one saying whether a next page exists."""
    page = {"items": rows[:limit], "total": total, "limit": limit, "offset": offset}
    return json_response(page | {"next_cursor": MORE if len(rows) > limit else None})


class Database:
    """The four reads and one write, each in as few statements as the raw driver allows."""

    async def fetch(self, sql: str, *args: Any) -> list[dict[str, Any]]:
        raise NotImplementedError

    async def execute_returning(self, sql: str, *args: Any) -> dict[str, Any]:
        raise NotImplementedError

    def placeholder(self, index: int) -> str:
        raise NotImplementedError

    def authors_of(self, number_column: str) -> str:
        raise NotImplementedError

    def twice(self, args: list[Any]) -> list[Any]:
        """Arguments for a filter written twice in a statement (the total, then the page)."""
        raise NotImplementedError

    def decode(self, row: dict[str, Any]) -> dict[str, Any]:
        return row


class Postgres(Database):
    pool: asyncpg.Pool  # opened when the server starts, in its event loop

    async def fetch(self, sql: str, *args: Any) -> list[dict[str, Any]]:
        async with self.pool.acquire() as connection:
            return [dict(row) for row in await connection.fetch(sql, *args)]

    async def execute_returning(self, sql: str, *args: Any) -> dict[str, Any]:
        return (await self.fetch(sql, *args))[0]

    def placeholder(self, index: int) -> str:
        return f"${index}"

    def twice(self, args: list[Any]) -> list[Any]:
        return args  # $1 names the same argument wherever it stands

    def authors_of(self, number_column: str) -> str:
        return (
            "(SELECT json_agg(a.name ORDER BY l.position) FROM pep_author l JOIN author a ON a.id = l.author_id "
            f"WHERE l.pep_number = {number_column})::text"
        )

    def decode(self, row: dict[str, Any]) -> dict[str, Any]:
        for key in ("authors", "requires", "replaces", "superseded_by"):
            if isinstance(row.get(key), str):
                row[key] = json.loads(row[key])
        return row


class Sqlite(Database):
    def __init__(self, path: str) -> None:
        self.connection = sqlite3.connect(path, check_same_thread=False)
        self.connection.row_factory = sqlite3.Row

    async def fetch(self, sql: str, *args: Any) -> list[dict[str, Any]]:
        return [dict(row) for row in self.connection.execute(sql, args).fetchall()]

    async def execute_returning(self, sql: str, *args: Any) -> dict[str, Any]:
        with self.connection:
            return dict(self.connection.execute(sql, args).fetchone())

    def placeholder(self, index: int) -> str:
        return "?"

    def twice(self, args: list[Any]) -> list[Any]:
        return args + args

    def authors_of(self, number_column: str) -> str:
        return (
            "(SELECT json_group_array(name) FROM (SELECT a.name FROM pep_author l JOIN author a ON a.id = l.author_id "
            f"WHERE l.pep_number = {number_column} ORDER BY l.position))"
        )

    def decode(self, row: dict[str, Any]) -> dict[str, Any]:
        for key in ("authors", "requires", "replaces", "superseded_by"):
            if isinstance(row.get(key), str):
                row[key] = json.loads(row[key])
        for key in ("created_at", "updated_at"):
            if isinstance(row.get(key), str):
                row[key] = datetime.fromisoformat(row[key]).replace(tzinfo=UTC)
        return row


def make_app(database_url: str, secret_key: str) -> Starlette:
    db: Database = Sqlite(database_url.split(":///", 1)[1]) if database_url.startswith("sqlite") else Postgres()
    p = db.placeholder

    async def pep_detail(request: Request) -> Response:
        sql = f"SELECT {PEP_COLUMNS}, {db.authors_of('pep.number')} AS authors FROM pep WHERE number = {p(1)}"
        rows = await db.fetch(sql, int(request.path_params["number"]))
        if not rows:
            return json_response({"detail": "PEP not found"}, 404)
        row = db.decode(rows[0])
        ordered = ["number", "title", "status", "type", "topic", "created", "python_version", "discussions_to"]
        ordered += ["post_history", "resolution", "requires", "replaces", "superseded_by", "abstract", "url"]
        ordered += ["authors", "created_at", "updated_at"]
        return json_response({key: row[key] for key in ordered})

    async def pep_list(request: Request) -> Response:
        limit = int(request.query_params.get("limit", 20))
        offset = int(request.query_params.get("offset", 0))
        status = request.query_params.get("status")
        where, args = "", []
        if status:
            where, args = f"WHERE status = {p(1)}", [status]
        order = SORTS[request.query_params.get("sort", "number")]
        n = len(args)
        # The page first, then the authors of its rows only.
        # The page first, then the authors of its rows only; the total counted once, in the same statement.
        sql = (
            f"SELECT page.*, {db.authors_of('page.number')} AS authors, (SELECT count(*) FROM pep {where}) AS total "
            f"FROM (SELECT {SUMMARY_COLUMNS} FROM pep {where} ORDER BY {order} "
            f"LIMIT {p(n + 1)} OFFSET {p(n + 2)}) AS page ORDER BY {order}"
        )
        rows = [db.decode(row) for row in await db.fetch(sql, *db.twice(args), limit + 1, offset)]
        total = rows[0]["total"] if rows else 0
        for row in rows:
            del row["total"]
        return page_response(rows, total, limit, offset)

    async def author_list(request: Request) -> Response:
        limit = int(request.query_params.get("limit", 20))
        offset = int(request.query_params.get("offset", 0))
        order = AUTHOR_SORTS[request.query_params.get("sort", "name")]
        # pep_count is the column the database's triggers keep (app/search.py), as the app reads it.
        sql = (
            "SELECT id, name, pep_count, (SELECT count(*) FROM author) AS total "
            f"FROM author ORDER BY {order} LIMIT {p(1)} OFFSET {p(2)}"
        )
        rows = await db.fetch(sql, limit + 1, offset)
        total = rows[0]["total"] if rows else 0
        items = [{"id": r["id"], "name": r["name"], "pep_count": r["pep_count"]} for r in rows]
        return page_response(items, total, limit, offset)

    async def signed_in_user(request: Request) -> int | None:
        """The app's check: an access token whose user is active and whose session still exists."""
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        try:
            claims = jwt.decode(token, secret_key, algorithms=["HS256"], options={"require": ["exp", "typ"]})
            user_id, session_id = int(claims["sub"]), int(claims["sid"])
        except (jwt.PyJWTError, ValueError, KeyError):
            return None
        if claims["typ"] != "access":
            return None
        found = await db.fetch(
            "SELECT user_account.* FROM user_account JOIN auth_session ON auth_session.user_id = user_account.id "
            f"WHERE user_account.id = {p(1)} AND auth_session.id = {p(2)} AND user_account.is_active",
            user_id,
            session_id,
        )
        return user_id if found else None

    async def notes(request: Request) -> Response:
        user_id = await signed_in_user(request)
        if user_id is None:
            return json_response({"detail": "Not authenticated"}, 401)
        if request.method == "POST":
            payload = json.loads(await request.body())
            if not await db.fetch(f"SELECT 1 FROM pep WHERE number = {p(1)}", payload["pep_number"]):
                return json_response({"detail": "PEP not found"}, 422)
            now = datetime.now(UTC)
            stamp = now if isinstance(db, Postgres) else now.isoformat(sep=" ").removesuffix("+00:00")
            note = await db.execute_returning(
                "INSERT INTO note (body, user_id, pep_number, created_at, updated_at) "
                f"VALUES ({p(1)}, {p(2)}, {p(3)}, {p(4)}, {p(5)}) RETURNING id",
                payload["body"],
                user_id,
                payload["pep_number"],
                stamp,
                stamp,
            )
            created = {"body": payload["body"], "id": note["id"], "pep_number": payload["pep_number"]}
            return json_response(created | {"created_at": now, "updated_at": now}, 201)
        limit = int(request.query_params.get("limit", 20))
        offset = int(request.query_params.get("offset", 0))
        order = NOTE_SORTS[request.query_params.get("sort", "-created_at")]
        sql = (
            f"SELECT body, id, pep_number, created_at, updated_at, (SELECT count(*) FROM note WHERE user_id = {p(1)}) "
            f"AS total FROM note WHERE user_id = {p(1)} ORDER BY {order} LIMIT {p(2)} OFFSET {p(3)}"
        )
        rows = [db.decode(row) for row in await db.fetch(sql, *db.twice([user_id]), limit + 1, offset)]
        total = rows[0]["total"] if rows else 0
        for row in rows:
            del row["total"]
        return page_response(rows, total, limit, offset)

    routes: list[tuple[str, Callable[[Request], Awaitable[Response]], list[str]]] = [
        ("/peps/{number:int}", pep_detail, ["GET"]),
        ("/peps", pep_list, ["GET"]),
        ("/authors", author_list, ["GET"]),
        ("/me/notes", notes, ["GET", "POST"]),
    ]

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if isinstance(db, Postgres):
            db.pool = await asyncpg.create_pool(database_url, min_size=5, max_size=5)
        yield

    return Starlette(
        routes=[Route(path, handler, methods=methods) for path, handler, methods in routes], lifespan=lifespan
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--secret-key", required=True)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    app = make_app(args.database_url, args.secret_key)
    uvicorn.run(app, host="127.0.0.1", port=args.port, access_log=False, log_level="warning")


if __name__ == "__main__":
    main()
