"""The fast read path converts every column type a resource may have, on both databases."""

from sqlalchemy import Float, bindparam, literal, select

from app.reader import Reader


async def test_float_columns_come_back_as_floats(reader: Reader) -> None:
    # asyncpg's float result processor wants the column's type code, which a compiled-once statement lacks.
    statement = select(literal(1.5, Float).label("fixed"), bindparam("given", type_=Float).label("given"))
    assert await reader.first(statement, given=2.25) == {"fixed": 1.5, "given": 2.25}
