"""The read-only `query` tool's first guard: parse the statement and accept only one plain SELECT.

The database's own read-only transaction (see `session.py`) is the second guard; this one exists
to refuse early with a reason an agent can act on, and to stop what read-only mode does not:
sleeping, file reads, server-side connections, locks.
"""

from __future__ import annotations

import re

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from hub.errors import HubError


class QueryRefusedError(HubError):
    """The statement is not a single read-only SELECT; the message says why. Becomes a tool error."""


def _classes(*names: str) -> tuple[type[exp.Expression], ...]:
    """sqlglot's node classes by name, skipping any this sqlglot version does not have."""
    return tuple(cls for name in names if isinstance(cls := getattr(exp, name, None), type))


# Statements and clauses that write, lock, change the session or leave the database.
_FORBIDDEN_NODES = _classes(
    "Insert", "Update", "Delete", "Merge", "Create", "Drop", "Alter", "TruncateTable", "Command", "Copy",
    "Pragma", "Attach", "Detach", "Into", "Lock", "Set", "Use", "Transaction", "Commit", "Rollback",
    "LoadData", "Grant", "Revoke", "Analyze", "Kill", "Cache", "Uncache", "Refresh", "Summarize",
)  # fmt: skip

# Functions that sleep, read or write files, reach other servers, take locks or change settings.
_FORBIDDEN_FUNCTIONS = frozenset(
    {
        # PostgreSQL
        "pg_sleep", "pg_sleep_for", "pg_sleep_until", "pg_read_file", "pg_read_binary_file", "pg_ls_dir",
        "pg_stat_file", "pg_terminate_backend", "pg_cancel_backend", "pg_reload_conf", "pg_rotate_logfile",
        "pg_notify", "pg_logical_emit_message", "set_config", "query_to_xml", "query_to_xml_and_xmlschema",
        "query_to_xmlschema", "cursor_to_xml", "cursor_to_xmlschema", "txid_current", "nextval", "setval",
        # MySQL / MariaDB
        "sleep", "benchmark", "load_file", "get_lock", "release_lock", "release_all_locks", "is_free_lock",
        "is_used_lock", "master_pos_wait", "source_pos_wait", "master_gtid_wait", "sys_exec", "sys_eval",
        # SQLite (readfile/writefile/edit come with the sqlite3 shell; refused wherever they exist)
        "load_extension", "readfile", "writefile", "edit", "fts3_tokenizer",
    }
)  # fmt: skip
_FORBIDDEN_PREFIXES = ("pg_sleep", "pg_read", "pg_ls_", "pg_advisory", "pg_try_advisory", "lo_", "dblink")

# MySQL and MariaDB run the text of /*! ... */ and /*M! ... */ comments as SQL.
_EXECUTABLE_COMMENT = re.compile(r"/\*M?!")


def check_read_only_select(sql: str, dialect: str) -> None:
    """Return if `sql` is exactly one SELECT (or UNION/INTERSECT/EXCEPT of them) that only reads."""
    if dialect == "mysql" and _EXECUTABLE_COMMENT.search(sql):
        raise QueryRefusedError("refused: MySQL executable comments (/*! ... */) are not allowed")
    try:
        statements = [s for s in sqlglot.parse(sql, dialect=dialect) if s is not None]
    except SqlglotError as exc:
        raise QueryRefusedError(f"refused: the statement could not be parsed ({_first_line(str(exc))})") from None
    if not statements:
        raise QueryRefusedError("refused: the statement is empty")
    if len(statements) > 1:
        raise QueryRefusedError(f"refused: only one statement is allowed, got {len(statements)}")
    root = statements[0]
    if not isinstance(root, exp.Query):
        raise QueryRefusedError(f"refused: only SELECT is allowed, got {_kind(root)}")
    for node in root.walk():
        if isinstance(node, _FORBIDDEN_NODES):
            raise QueryRefusedError(f"refused: {_kind(node)} is not allowed in a read-only query")
        if isinstance(node, exp.Func):
            name = _function_name(node)
            if name in _FORBIDDEN_FUNCTIONS or name.startswith(_FORBIDDEN_PREFIXES):
                raise QueryRefusedError(f"refused: function {name}() is not allowed in a read-only query")


def _function_name(node: exp.Func) -> str:
    return (node.name if isinstance(node, exp.Anonymous) else node.sql_name()).lower()


def _kind(node: object) -> str:
    names = {"Into": "SELECT ... INTO", "Lock": "a locking clause (FOR UPDATE / FOR SHARE)", "Command": "this command"}
    return names.get(type(node).__name__, type(node).__name__.upper())


def _first_line(text: str) -> str:
    return text.splitlines()[0][:200] if text else "syntax error"
