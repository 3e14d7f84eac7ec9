"""The SQL connector against real SQLite, PostgreSQL and MariaDB: named queries, generic tools, guards, limits."""

from __future__ import annotations

from typing import Any

import pytest

from hub.errors import InvalidParamsError

pytestmark = pytest.mark.anyio

BY_NAME = {
    "name": "item_by_name",
    "description": "One item by its name",
    "sql": "SELECT id, name, price, added, note FROM items WHERE name = :name ORDER BY id",
    "parameters": {
        "type": "object",
        "properties": {"name": {"type": "string", "maxLength": 100}},
        "required": ["name"],
        "additionalProperties": False,
    },
}
CHEAPER = {
    "name": "cheaper_than",
    "sql": "SELECT name FROM items WHERE price < :limit ORDER BY price",
    "parameters": {"type": "object", "properties": {"limit": {"type": "number"}}, "required": ["limit"]},
}
GENERIC = ["list_tables", "describe_table", "query"]


def text_of(result: dict[str, Any]) -> str:
    [block] = result["content"]
    assert block["type"] == "text"
    return str(block["text"])


async def item_count(harness, items_db) -> int:
    return int(await harness.scalar(items_db.url, "SELECT count(*) FROM items"))


async def test_a_named_query_returns_rows_as_structured_content_and_a_text_table(harness, items_db) -> None:
    async with harness.running(harness.config(items_db.url, tools=[BY_NAME])) as db:
        result = await harness.call(db, "item_by_name", {"name": "plum"})
    assert result["isError"] is False
    price = 0.75 if items_db.backend == "sqlite" else "0.75"  # SQLite has no decimal type; the others keep digits
    assert result["structuredContent"] == {
        "columns": ["id", "name", "price", "added", "note"],
        "rows": [[3, "plum", price, "2026-03-04", "it's ripe"]],
        "row_count": 1,
        "truncated": False,
    }
    assert text_of(result).splitlines() == [
        "id | name | price | added      | note",
        "---+------+-------+------------+----------",
        "3  | plum | 0.75  | 2026-03-04 | it's ripe",
        "(1 row)",
    ]


async def test_the_catalog_lists_named_and_generic_tools_with_their_schemas(harness, items_db) -> None:
    async with harness.running(harness.config(items_db.url, tools=[BY_NAME], generic_tools=GENERIC)) as db:
        assert db.catalog is not None
        tools = {t["name"]: t for t in db.catalog.tools}
        assert db.health.state == "ready"
    assert list(tools) == ["item_by_name", *GENERIC]
    assert tools["item_by_name"]["inputSchema"] == BY_NAME["parameters"]
    assert tools["item_by_name"]["description"] == "One item by its name"
    assert tools["query"]["inputSchema"]["required"] == ["sql"]
    assert all(t["outputSchema"]["required"] == ["columns", "rows", "row_count", "truncated"] for t in tools.values())


@pytest.mark.parametrize(
    "value",
    [
        "'; DROP TABLE items; --",
        "plum' OR '1'='1",
        "x' UNION SELECT token, token, token, token, token FROM secrets --",
        "plum'; DELETE FROM items WHERE '1'='1",
        "plum\\'; DROP TABLE items; -- ",
    ],
)
async def test_argument_values_are_bound_never_spliced_into_the_sql(harness, items_db, value: str) -> None:
    async with harness.running(harness.config(items_db.url, tools=[BY_NAME])) as db:
        result = await harness.call(db, "item_by_name", {"name": value})
    assert result["isError"] is False
    assert result["structuredContent"]["rows"] == []
    assert await item_count(harness, items_db) == 3


@pytest.mark.parametrize(
    ("arguments", "field", "why"),
    [
        ({}, "(arguments)", "'name' is a required property"),
        ({"name": 7}, "name", "is not of type 'string'"),
        ({"name": "x" * 101}, "name", "is too long"),
        ({"name": "plum", "extra": 1}, "(arguments)", "Additional properties are not allowed"),
    ],
)
async def test_arguments_are_validated_against_the_schema_first(harness, items_db, arguments, field, why) -> None:
    async with harness.running(harness.config(items_db.url, tools=[BY_NAME])) as db:
        with pytest.raises(InvalidParamsError) as raised:
            await harness.call(db, "item_by_name", arguments)
    assert raised.value.message.startswith(f"invalid arguments for tool 'item_by_name': {field}: ")
    assert why in raised.value.message
    assert raised.value.data == {"field": field}


async def test_a_number_parameter_compares_as_a_number(harness, items_db) -> None:
    async with harness.running(harness.config(items_db.url, tools=[CHEAPER])) as db:
        result = await harness.call(db, "cheaper_than", {"limit": 2})
    assert result["structuredContent"]["rows"] == [["plum"], ["apple"]]


async def test_the_query_tool_runs_one_select(harness, items_db) -> None:
    sql = "SELECT n, n * 2 AS twice FROM numbers WHERE n <= 3 ORDER BY n"
    async with harness.running(harness.config(items_db.url, generic_tools=["query"])) as db:
        result = await harness.call(db, "query", {"sql": sql})
        colons = await harness.call(db, "query", {"sql": "SELECT '12:30' AS t, '50%' AS p"})
    assert result["structuredContent"]["rows"] == [[1, 2], [2, 4], [3, 6]]
    assert result["structuredContent"]["columns"] == ["n", "twice"]
    assert colons["structuredContent"]["rows"] == [["12:30", "50%"]]


WRITES = [
    ("SELECT 1; DROP TABLE items", "only one statement is allowed"),
    ("SELECT 1 /* harmless */; DELETE FROM items", "only one statement is allowed"),
    ("DELETE FROM items", "only SELECT is allowed, got DELETE"),
    ("UPDATE items SET name = 'x'", "only SELECT is allowed, got UPDATE"),
    ("DROP TABLE items", "only SELECT is allowed, got DROP"),
    ("INSERT INTO items (id, name) VALUES (9, 'x')", "only SELECT is allowed, got INSERT"),
    ("WITH gone AS (DELETE FROM items RETURNING id) SELECT * FROM gone", "DELETE is not allowed"),
    ("SELECT * INTO stolen FROM items", "SELECT ... INTO is not allowed"),
    ("SELECT * FROM items FOR UPDATE", "locking clause"),
    ("SELECT name FROM items UNION SELECT pg_read_file('/etc/passwd')", "function pg_read_file() is not allowed"),
    ("SELECT 1 UNION SELECT load_extension('/tmp/evil')", "function load_extension() is not allowed"),
    ("SELECT pg_sleep(10)", "function pg_sleep() is not allowed"),
    ("SELECT sleep(10)", "function sleep() is not allowed"),
    ("SELECT benchmark(100000000, md5('x'))", "function benchmark() is not allowed"),
    ("SELECT load_file('/etc/passwd')", "function load_file() is not allowed"),
    ("SELECT dblink('host=127.0.0.1', 'DROP TABLE items')", "function dblink() is not allowed"),
    ("SELECT lo_import('/etc/passwd')", "function lo_import() is not allowed"),
    ("COPY items TO STDOUT", "only SELECT is allowed"),
    ("PRAGMA query_only = OFF", "only SELECT is allowed"),
    ("ATTACH DATABASE '/tmp/other.db' AS other", "only SELECT is allowed"),
    ("CREATE TABLE x (id INTEGER)", "only SELECT is allowed, got CREATE"),
    ("", "the statement is empty"),
]


@pytest.mark.parametrize(("sql", "why"), WRITES, ids=[w[0][:40] or "empty" for w in WRITES])
async def test_the_query_tool_refuses_anything_but_a_read_only_select(harness, items_db, sql: str, why: str) -> None:
    async with harness.running(harness.config(items_db.url, generic_tools=["query"])) as db:
        result = await harness.call(db, "query", {"sql": sql})
    assert result["isError"] is True
    # Some statements do not parse in every dialect (COPY in MySQL, ATTACH in PostgreSQL): refused all the same.
    assert why in text_of(result) or "could not be parsed" in text_of(result)
    assert text_of(result).startswith("refused: ")
    assert await item_count(harness, items_db) == 3


async def test_a_comment_does_not_hide_a_second_statement(harness, items_db) -> None:
    async with harness.running(harness.config(items_db.url, generic_tools=["query"])) as db:
        commented = await harness.call(db, "query", {"sql": "SELECT count(*) AS c FROM items -- ; DROP TABLE items"})
    assert commented["structuredContent"]["rows"] == [[3]]
    assert await item_count(harness, items_db) == 3


async def test_mysql_executable_comments_are_refused(harness, tmp_path) -> None:
    async with (
        harness.database("mysql", tmp_path) as url,
        harness.running(harness.config(url, generic_tools=["query"])) as db,
    ):
        result = await harness.call(db, "query", {"sql": "SELECT 1 /*!50000 , sleep(5) */"})
    assert result["isError"] is True
    assert "executable comments" in text_of(result)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql", "mysql"])
async def test_a_tool_that_writes_commits_and_reports_rows_affected(harness, tmp_path, backend) -> None:
    add = {
        "name": "add_item",
        "sql": "INSERT INTO items (id, name) VALUES (:id, :name)",
        "read_only": False,
        "parameters": {"type": "object", "properties": {"id": {"type": "integer"}, "name": {"type": "string"}}},
    }
    async with harness.database(backend, tmp_path) as url:
        await harness.execute(url, "CREATE TABLE items (id INTEGER PRIMARY KEY, name VARCHAR(100))")
        async with harness.running(harness.config(url, tools=[add], generic_tools=["query"])) as db:
            added = await harness.call(db, "add_item", {"id": 1, "name": "'); DROP TABLE items; --"})
            duplicate = await harness.call(db, "add_item", {"id": 1, "name": "again"})
            read_back = await harness.call(db, "query", {"sql": "SELECT id, name FROM items"})
    assert added["isError"] is False
    assert added["structuredContent"]["rows_affected"] == 1
    assert text_of(added) == "(0 rows; 1 row affected)"
    assert duplicate["isError"] is True  # the primary key: the database's message, as a tool error
    assert text_of(duplicate).startswith("database error: ")
    assert read_back["structuredContent"]["rows"] == [[1, "'); DROP TABLE items; --"]]


# A function that writes, called from a SELECT: the parser has no reason to refuse it, the database must.
WRITING_FUNCTION = {
    "postgresql": "CREATE FUNCTION bump() RETURNS integer LANGUAGE sql"
    " AS 'INSERT INTO numbers VALUES (1000) RETURNING n'",
    "mysql": "CREATE FUNCTION bump() RETURNS INTEGER MODIFIES SQL DATA"
    " BEGIN INSERT INTO numbers VALUES (1000); RETURN 1; END",
}
READ_ONLY_REFUSAL = {
    "sqlite": ("attempt to write a readonly database", "not authorized"),
    "postgresql": ("in a read-only transaction",),
    "mysql": ("Cannot execute statement in a READ ONLY transaction",),
}


@pytest.mark.parametrize("backend", ["postgresql", "mysql"])
async def test_a_select_that_writes_passes_the_parser_and_the_database_refuses_it(harness, tmp_path, backend) -> None:
    async with harness.database(backend, tmp_path) as url:
        await harness.execute(url, "CREATE TABLE numbers (n INTEGER PRIMARY KEY)", WRITING_FUNCTION[backend])
        async with harness.running(harness.config(url, generic_tools=["query"])) as db:
            result = await harness.call(db, "query", {"sql": "SELECT bump() AS b"})
        count = await harness.scalar(url, "SELECT count(*) FROM numbers")
    assert result["isError"] is True
    assert not text_of(result).startswith("refused")  # the parser let it through ...
    assert READ_ONLY_REFUSAL[backend][0] in text_of(result)  # ... the read-only transaction did not
    assert count == 0


SQLITE_BYPASS = [
    "DELETE FROM items",
    "INSERT INTO items (id, name) VALUES (9, 'x')",
    "CREATE TABLE x (id INTEGER)",
    "ATTACH DATABASE '{tmp}/other.db' AS other",
    "PRAGMA query_only = OFF",
]


async def test_sqlite_read_only_mode_refuses_what_the_parser_would_have(harness, tmp_path) -> None:
    """Named tools skip the parser (an admin wrote them); read-only ones cannot write, attach or unset the mode."""
    async with harness.database("sqlite", tmp_path) as url:
        await harness.execute(
            url, "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT)", "INSERT INTO items VALUES (1, 'a')"
        )
        tools = [{"name": f"sneaky_{i}", "sql": sql.format(tmp=tmp_path)} for i, sql in enumerate(SQLITE_BYPASS)]
        tools.append({"name": "after", "sql": "DELETE FROM items", "read_only": True})
        async with harness.running(harness.config(url, tools=tools)) as db:
            results = [await harness.call(db, tool["name"], {}) for tool in tools]
        count = await harness.scalar(url, "SELECT count(*) FROM items")
    for result in results:
        assert result["isError"] is True, result
        assert any(reason in text_of(result) for reason in READ_ONLY_REFUSAL["sqlite"]), text_of(result)
    assert count == 1
    assert not (tmp_path / "other.db").exists()


async def test_a_named_read_only_tool_cannot_write_on_any_backend(harness, items_db) -> None:
    tools = [{"name": "sneaky", "sql": "UPDATE items SET name = 'gone'"}]
    async with harness.running(harness.config(items_db.url, tools=tools)) as db:
        result = await harness.call(db, "sneaky", {})
    assert result["isError"] is True
    if items_db.backend == "postgresql":  # psycopg streams through a server-side cursor, which only takes a query
        assert "CURSOR FOR UPDATE" in text_of(result) or "read-only" in text_of(result)
    else:
        assert any(reason in text_of(result) for reason in READ_ONLY_REFUSAL[items_db.backend]), text_of(result)
    assert await harness.scalar(items_db.url, "SELECT count(*) FROM items WHERE name = 'gone'") == 0


async def test_rows_past_the_limit_are_cut_and_the_result_says_so(harness, items_db) -> None:
    config = harness.config(
        items_db.url,
        generic_tools=["query"],
        max_rows=10,
        tools=[{"name": "all_numbers", "sql": "SELECT n FROM numbers ORDER BY n", "max_rows": 4}],
    )
    async with harness.running(config) as db:
        capped = await harness.call(db, "query", {"sql": "SELECT n FROM numbers ORDER BY n"})
        asked = await harness.call(db, "query", {"sql": "SELECT n FROM numbers ORDER BY n", "max_rows": 2})
        over = await harness.call(db, "query", {"sql": "SELECT n FROM numbers ORDER BY n", "max_rows": 500})
        exact = await harness.call(db, "query", {"sql": "SELECT n FROM numbers WHERE n <= 10 ORDER BY n"})
        named = await harness.call(db, "all_numbers", {})
    assert capped["structuredContent"]["rows"] == [[n] for n in range(1, 11)]
    assert capped["structuredContent"]["truncated"] is True
    assert text_of(capped).endswith("(10 rows; truncated: the query returned more rows than the limit)")
    assert asked["structuredContent"]["row_count"] == 2
    assert over["structuredContent"]["row_count"] == 10
    assert exact["structuredContent"]["truncated"] is False
    assert named["structuredContent"]["rows"] == [[1], [2], [3], [4]]
    assert named["structuredContent"]["truncated"] is True


ENDLESS = "SELECT count(*) AS c FROM numbers a, numbers b, numbers c, numbers d, numbers e, numbers f"  # 50^6 rows
SLEEP = {"sqlite": ENDLESS, "postgresql": "SELECT pg_sleep(30)", "mysql": "SELECT SLEEP(30)"}
TIMED_OUT = {
    "sqlite": "ran past its 0.5s time limit",
    "postgresql": "statement timeout",
    "mysql": "max_statement_time exceeded",
}


async def test_a_statement_that_runs_too_long_is_cancelled_by_the_database(harness, items_db) -> None:
    config = harness.config(
        items_db.url,
        generic_tools=["query"],
        statement_timeout_s=0.5,
        tools=[{"name": "slow", "sql": SLEEP[items_db.backend]}],
    )
    async with harness.running(config) as db:
        endless = await harness.call(db, "query", {"sql": ENDLESS})
        slow = await harness.call(db, "slow", {})
        after = await harness.call(db, "query", {"sql": "SELECT 1 AS one"})
    for result in (endless, slow):
        assert result["isError"] is True
        assert TIMED_OUT[items_db.backend] in text_of(result), text_of(result)
    assert after["structuredContent"]["rows"] == [[1]]  # the pooled connection is usable again


async def test_list_tables_and_describe_table(harness, items_db) -> None:
    async with harness.running(harness.config(items_db.url, generic_tools=GENERIC)) as db:
        tables = await harness.call(db, "list_tables", {})
        described = await harness.call(db, "describe_table", {"table": "items"})
        missing = await harness.call(db, "describe_table", {"table": "nope"})
    assert tables["structuredContent"]["columns"] == ["name", "type"]
    assert sorted(r[0] for r in tables["structuredContent"]["rows"]) == ["items", "numbers", "secrets"]
    assert described["structuredContent"]["columns"] == [
        "column", "type", "nullable", "default", "primary_key", "references"
    ]  # fmt: skip
    rows = {r[0]: r for r in described["structuredContent"]["rows"]}
    assert list(rows) == ["id", "name", "price", "added", "note"]
    assert rows["id"][4] is True
    assert rows["name"][2] is False
    assert rows["price"][1].upper().startswith(("DECIMAL", "NUMERIC"))
    assert missing["isError"] is True
    assert "no table or view named 'nope'" in text_of(missing)


async def test_a_sql_error_is_a_tool_error_with_the_database_message_only(harness, items_db) -> None:
    async with harness.running(harness.config(items_db.url, generic_tools=["query"])) as db:
        result = await harness.call(db, "query", {"sql": "SELECT no_such_column FROM items"})
        assert db.health.state == "ready"
    assert result["isError"] is True
    message = text_of(result)
    assert message.startswith("database error: ")
    assert "no_such_column" in message
    assert "[SQL:" not in message
    assert "sqlalche.me" not in message
    assert "\n" not in message
    assert len(message) <= 320


async def test_an_unknown_tool_is_not_found(harness, items_db) -> None:
    from hub.errors import NotFoundError

    async with harness.running(harness.config(items_db.url, tools=[BY_NAME])) as db:
        with pytest.raises(NotFoundError):
            await harness.call(db, "query", {"sql": "SELECT 1"})
