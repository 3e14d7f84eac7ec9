"""Check a tool call's arguments against the tool's input schema, before any request is built.

A failure names the argument's path and what is wrong with it, in our own words: the schema
library's text can quote large values and reads differently per keyword.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match
from jsonschema.protocols import Validator

from hub.errors import InvalidParamsError


def validator_for(schema: Mapping[str, Any]) -> Validator:
    """A validator of `schema` (JSON Schema 2020-12); raises jsonschema's SchemaError if it is not one."""
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def check_arguments(tool: str, validator: Validator, arguments: Any) -> dict[str, Any]:
    """`arguments` as a dict, or InvalidParamsError naming the first offending field."""
    if arguments is None:
        arguments = {}
    if not isinstance(arguments, dict):
        raise InvalidParamsError(f"tool {tool!r}: arguments must be an object", field="")
    error = best_match(validator.iter_errors(arguments))
    if error is None:
        return arguments
    field, problem = describe(error)
    where = field or "arguments"
    raise InvalidParamsError(f"tool {tool!r}: invalid argument {where!r}: {problem}", field=field)


def describe(error: ValidationError) -> tuple[str, str]:
    """(dotted field path, what is wrong) for one validation error."""
    path = [str(p) for p in error.absolute_path]
    keyword, expected = error.validator, error.validator_value
    if keyword == "required" and isinstance(expected, list):
        missing = _missing(expected, error.instance)
        return _dotted([*path, missing]), "is required"
    if keyword == "additionalProperties" and isinstance(error.instance, dict) and isinstance(error.schema, dict):
        allowed = set(error.schema.get("properties", {}))
        extra = sorted(k for k in error.instance if k not in allowed)
        return _dotted([*path, extra[0] if extra else ""]), "is not an accepted argument"
    return _dotted(path), _problem(str(keyword), expected)


def _problem(keyword: str, expected: Any) -> str:
    simple = {
        "type": f"must be of type {_join(expected) if isinstance(expected, list) else expected}",
        "enum": f"must be one of {_join(expected)}",
        "const": f"must be {expected!r}",
        "minimum": f"must be >= {expected}",
        "maximum": f"must be <= {expected}",
        "exclusiveMinimum": f"must be > {expected}",
        "exclusiveMaximum": f"must be < {expected}",
        "minLength": f"must be at least {expected} characters long",
        "maxLength": f"must be at most {expected} characters long",
        "pattern": f"must match the pattern {expected!r}",
        "minItems": f"must have at least {expected} items",
        "maxItems": f"must have at most {expected} items",
        "uniqueItems": "must not repeat items",
        "multipleOf": f"must be a multiple of {expected}",
        "format": f"must be a valid {expected}",
    }
    return simple.get(keyword, f"does not match the schema ({keyword})")


def _missing(required: Iterable[str], instance: Any) -> str:
    present = instance if isinstance(instance, dict) else {}
    return next((name for name in required if name not in present), "")


def _dotted(path: list[str]) -> str:
    return ".".join(p for p in path if p != "")


def _join(values: Any) -> str:
    return ", ".join(repr(v) for v in values) if isinstance(values, list | tuple) else repr(values)
