"""The query tool's parser guard, per dialect: what passes, what is refused, and the reason given."""

from __future__ import annotations

import pytest

from connectors.sql.guard import QueryRefusedError, check_read_only_select

ALLOWED = [
    ("postgres", "SELECT id, name FROM items WHERE price > 1 ORDER BY id LIMIT 5"),
    ("postgres", "WITH cheap AS (SELECT * FROM items WHERE price < 1) SELECT count(*) FROM cheap"),
    ("postgres", "SELECT name FROM items UNION ALL SELECT token FROM secrets"),
    ("postgres", "(SELECT 1) EXCEPT (SELECT 2)"),
    ("postgres", "SELECT now(), upper(name), count(*) OVER () FROM items"),
    ("postgres", "SELECT 1 -- ; DROP TABLE items"),
    ("postgres", "SELECT 1;"),
    ("mysql", "SELECT `name` FROM items WHERE note LIKE '%ripe%'"),
    ("sqlite", "SELECT * FROM pragma_table_info('items')"),
    ("sqlite", "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 5) SELECT n FROM c"),
]

REFUSED = [
    ("postgres", "SELECT 1; SELECT 2", "only one statement is allowed, got 2"),
    ("postgres", "SELECT pg_catalog.pg_sleep(1)", "function pg_sleep() is not allowed"),
    ("postgres", 'SELECT "PG_SLEEP"(1)', "function pg_sleep() is not allowed"),
    ("postgres", "SELECT * FROM items WHERE id = (SELECT pg_sleep_for('1 s'))", "function pg_sleep_for()"),
    ("postgres", "SELECT set_config('transaction_read_only', 'off', false)", "function set_config()"),
    ("postgres", "SELECT pg_advisory_lock(1)", "function pg_advisory_lock()"),
    ("postgres", "SELECT lo_export(1, '/tmp/x')", "function lo_export()"),
    ("postgres", "SELECT dblink_exec('x', 'DROP TABLE items')", "function dblink_exec()"),
    ("postgres", "SELECT query_to_xml('DELETE FROM items', true, true, '')", "function query_to_xml()"),
    ("postgres", "SELECT * FROM (SELECT * FROM items FOR SHARE) AS s", "locking clause"),
    ("postgres", "WITH u AS (UPDATE items SET name = 'x' RETURNING 1) SELECT 1", "UPDATE is not allowed"),
    ("postgres", "WITH i AS (INSERT INTO items (id) VALUES (9) RETURNING 1) SELECT 1", "INSERT is not allowed"),
    ("postgres", "SELECT * INTO TEMP stolen FROM items", "SELECT ... INTO"),
    ("postgres", "COPY (SELECT 1) TO PROGRAM 'rm -rf /'", "only SELECT is allowed"),
    ("postgres", "SET statement_timeout = 0", "only SELECT is allowed"),
    ("postgres", "BEGIN", "only SELECT is allowed"),
    ("postgres", "VALUES (1)", "only SELECT is allowed, got VALUES"),
    ("postgres", "   ", "the statement is empty"),
    ("postgres", "SELEC 1", "could not be parsed"),
    ("mysql", "SELECT * FROM items LOCK IN SHARE MODE", "locking clause"),
    ("mysql", "SELECT * FROM items INTO OUTFILE '/tmp/x'", "could not be parsed"),
    ("mysql", "SELECT SLEEP(1)", "function sleep()"),
    ("mysql", "SELECT GET_LOCK('x', 10)", "function get_lock()"),
    ("mysql", "SELECT 1 /*!50000 UNION SELECT SLEEP(5) */", "executable comments"),
    ("mysql", "SELECT 1 /*M!100000 , SLEEP(5) */", "executable comments"),
    ("mysql", "SELECT 1; SELECT 2", "only one statement"),
    ("sqlite", "SELECT readfile('/etc/passwd')", "function readfile()"),
    ("sqlite", "SELECT writefile('/tmp/x', 'y')", "function writefile()"),
    ("sqlite", "SELECT fts3_tokenizer('simple')", "function fts3_tokenizer()"),
    ("sqlite", "PRAGMA writable_schema = ON", "only SELECT is allowed, got PRAGMA"),
    ("sqlite", "ATTACH DATABASE 'x.db' AS x", "only SELECT is allowed, got ATTACH"),
    ("sqlite", "DETACH DATABASE x", "only SELECT is allowed"),
]


@pytest.mark.parametrize(("dialect", "sql"), ALLOWED)
def test_a_single_read_only_select_passes(dialect: str, sql: str) -> None:
    check_read_only_select(sql, dialect)


@pytest.mark.parametrize(("dialect", "sql", "why"), REFUSED)
def test_anything_else_is_refused_with_its_reason(dialect: str, sql: str, why: str) -> None:
    with pytest.raises(QueryRefusedError) as refused:
        check_read_only_select(sql, dialect)
    assert refused.value.message.startswith("refused: ")
    assert why in refused.value.message
