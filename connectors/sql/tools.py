"""The tools a database upstream offers: the admin's named queries, and the generic ones it turns on.

<name>          a named query; arguments are checked against its JSON Schema, then bound
list_tables     tables and views (of one schema, or the default one)
describe_table  a table's columns: type, nullability, default, primary key, references
query           one read-only SELECT, checked by `guard.py` and run in a read-only transaction
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from jsonschema import Draft202012Validator
from sqlalchemy import Connection, TextClause, inspect, text

from connectors.sql.engine import DIALECTS, Database
from connectors.sql.errors import StatementFailedError
from connectors.sql.guard import check_read_only_select
from connectors.sql.results import OUTPUT_SCHEMA, Rows
from connectors.sql.session import Bounds, run_inspection, run_statement
from hub.config.model import SqlToolConfig, SqlUpstreamConfig
from hub.core.catalog import WireItem
from hub.errors import InvalidParamsError, NotFoundError

_GENERIC: dict[str, tuple[str, dict[str, Any]]] = {
    "list_tables": (
        "List the database's tables and views.",
        {"schema": {"type": "string", "description": "schema to list (default: the connection's own)"}},
    ),
    "describe_table": (
        "Describe one table's columns: type, nullability, default, primary key and references.",
        {
            "table": {"type": "string", "description": "table or view name"},
            "schema": {"type": "string", "description": "its schema (default: the connection's own)"},
        },
    ),
    "query": (
        "Run one read-only SQL SELECT and return its rows (writes, locks and multiple statements are refused).",
        {
            "sql": {"type": "string", "description": "a single SELECT statement"},
            "max_rows": {"type": "integer", "minimum": 1, "description": "return at most this many rows"},
        },
    ),
}
_REQUIRED = {"describe_table": ["table"], "query": ["sql"]}


@dataclass(frozen=True, slots=True)
class _NamedQuery:
    config: SqlToolConfig
    statement: TextClause
    parameters: tuple[str, ...]  # the `:name`s the SQL binds
    validator: Draft202012Validator


class SqlTools:
    def __init__(self, config: SqlUpstreamConfig) -> None:
        self.name = config.name
        self._config = config
        self._named = {t.name: _named_query(t) for t in config.tools}
        self._generic: dict[str, Draft202012Validator] = {
            name: Draft202012Validator(_generic_schema(name)) for name in config.generic_tools
        }

    def catalog(self) -> tuple[WireItem, ...]:
        named = [
            _wire(t.name, t.description or f"Run the query {t.name!r}.", t.parameters, t.read_only)
            for t in self._config.tools
        ]
        generic = [_wire(name, _GENERIC[name][0], _generic_schema(name), True) for name in self._generic]
        return tuple(named + generic)

    async def call(self, db: Database, name: str, arguments: Mapping[str, Any], timeout_s: float) -> Rows:
        """Run tool `name`; InvalidParamsError for arguments its schema refuses, NotFoundError for no such tool."""
        named = self._named.get(name)
        if named is not None:
            _validate(name, named.validator, arguments)
            bounds = Bounds(named.config.read_only, timeout_s, named.config.max_rows or self._config.max_rows)
            params = {key: arguments.get(key) for key in named.parameters}
            return await run_statement(db, self.name, named.statement, params, bounds)
        validator = self._generic.get(name)
        if validator is None:
            raise NotFoundError(f"tool {name!r} not found")
        _validate(name, validator, arguments)
        bounds = Bounds(True, timeout_s, self._config.max_rows)
        if name == "query":
            sql = str(arguments["sql"])
            check_read_only_select(sql, DIALECTS[db.backend])
            limit = min(int(arguments.get("max_rows", bounds.max_rows)), bounds.max_rows)
            literal = text(sql.replace(":", "\\:"))  # the agent's SQL has no bind parameters: every colon is its own
            return await run_statement(db, self.name, literal, {}, Bounds(True, timeout_s, limit))
        schema = arguments.get("schema")
        if name == "list_tables":
            return await run_inspection(db, self.name, _list_tables(schema, bounds.max_rows), bounds)
        return await run_inspection(db, self.name, _describe_table(str(arguments["table"]), schema), bounds)


def _named_query(config: SqlToolConfig) -> _NamedQuery:
    statement = text(config.sql)
    return _NamedQuery(config, statement, tuple(statement.compile().params), Draft202012Validator(config.parameters))


def _generic_schema(name: str) -> dict[str, Any]:
    properties = _GENERIC[name][1]
    return {
        "type": "object",
        "properties": properties,
        "required": _REQUIRED.get(name, []),
        "additionalProperties": False,
    }


def _wire(name: str, description: str, input_schema: Mapping[str, Any], read_only: bool) -> WireItem:
    return {
        "name": name,
        "description": description,
        "inputSchema": dict(input_schema),
        "outputSchema": OUTPUT_SCHEMA,
        "annotations": {"readOnlyHint": read_only, "openWorldHint": False},
    }


def _validate(tool: str, validator: Draft202012Validator, arguments: Mapping[str, Any]) -> None:
    errors = sorted(validator.iter_errors(dict(arguments)), key=lambda e: list(e.absolute_path))
    if errors:
        first = errors[0]
        where = "/".join(str(p) for p in first.absolute_path) or "(arguments)"
        raise InvalidParamsError(f"invalid arguments for tool {tool!r}: {where}: {first.message}", field=where)


def _list_tables(schema: str | None, max_rows: int) -> Callable[[Connection], Rows]:
    def run(conn: Connection) -> Rows:
        found = inspect(conn)
        rows: list[tuple[str, str]] = [(n, "table") for n in found.get_table_names(schema=schema)]
        rows += [(n, "view") for n in found.get_view_names(schema=schema)]
        return Rows(("name", "type"), list(rows[:max_rows]), len(rows) > max_rows)

    return run


def _describe_table(table: str, schema: str | None) -> Callable[[Connection], Rows]:
    def run(conn: Connection) -> Rows:
        found = inspect(conn)
        if not found.has_table(table, schema=schema):
            raise StatementFailedError(f"no table or view named {table!r}; list_tables shows what there is")
        primary = set(found.get_pk_constraint(table, schema=schema).get("constrained_columns") or [])
        references = {
            column: f"{fk['referred_table']}.{referred}"
            for fk in found.get_foreign_keys(table, schema=schema)
            for column, referred in zip(fk["constrained_columns"], fk["referred_columns"], strict=False)
        }
        rows = [
            (
                c["name"],
                _type_name(c["type"]),
                bool(c["nullable"]),
                None if c.get("default") is None else str(c.get("default")),
                c["name"] in primary,
                references.get(c["name"]),
            )
            for c in found.get_columns(table, schema=schema)
        ]
        return Rows(("column", "type", "nullable", "default", "primary_key", "references"), list(rows), False)

    return run


def _type_name(column_type: object) -> str:
    try:
        return str(column_type)
    except Exception:  # a type the dialect cannot compile (NullType): its class name still says something
        return type(column_type).__name__
