"""Copy schemas out of an OpenAPI document into self-contained JSON Schemas (2020-12).

`$ref`s are resolved with the `referencing` library. A referenced schema is copied once into the
tool schema's `$defs` and the reference rewritten to point there, so recursive and shared schemas
stay references (never expanded without end). OpenAPI 3.0's dialect is translated on the way:
`nullable`, boolean `exclusiveMinimum`/`exclusiveMaximum`, `example`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from referencing import Registry
from referencing.exceptions import Unresolvable
from referencing.jsonschema import DRAFT202012

if TYPE_CHECKING:
    from referencing._core import Resolver  # the type Registry.resolver() returns; not re-exported

MAX_REF_CHAIN = 32
_VALUES = frozenset({"enum", "const", "default", "example", "examples"})  # hold data, not subschemas
_DEF_NAME = re.compile(r"[^A-Za-z0-9_.-]+")


class SpecError(ValueError):
    """The document cannot be read as OpenAPI; the message says where."""


@dataclass
class Defs:
    """The `$defs` one tool schema collects, keyed by the reference they came from."""

    schemas: dict[str, Any] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)

    def name_for(self, ref: str) -> tuple[str, bool]:
        """The def name for `ref`, and whether it is new."""
        if ref in self.names:
            return self.names[ref], False
        base = _DEF_NAME.sub("_", ref.rsplit("/", 1)[-1]).strip("_") or "schema"
        name, n = base, 1
        while name in self.schemas:
            n += 1
            name = f"{base}_{n}"
        self.names[ref] = name
        self.schemas[name] = {}  # claimed before its contents are copied: a recursive ref finds it
        return name, True


class SchemaCopier:
    """Resolves references within one document and copies its schemas out as 2020-12 JSON Schema."""

    def __init__(self, document: Mapping[str, Any], uri: str, dialect_30: bool) -> None:
        resource = DRAFT202012.create_resource(document)
        self._root: Resolver = Registry().with_resource(uri, resource).resolver(base_uri=uri)
        self._dialect_30 = dialect_30

    def follow(self, node: Any, resolver: Resolver | None = None) -> tuple[Any, Resolver]:
        """`node` with its `$ref` chain followed (parameters, request bodies, path items, schemas)."""
        resolver = resolver or self._root
        for _ in range(MAX_REF_CHAIN):
            if not (isinstance(node, Mapping) and isinstance(node.get("$ref"), str)):
                return node, resolver
            node, resolver = self._lookup(node["$ref"], resolver)
        raise SpecError(f"$ref chain longer than {MAX_REF_CHAIN}")

    def copy(self, schema: Any, defs: Defs, resolver: Resolver | None = None) -> Any:
        """`schema` as self-contained JSON Schema; what it references lands in `defs`."""
        return self._copy(schema, defs, resolver or self._root)

    def _copy(self, node: Any, defs: Defs, resolver: Resolver) -> Any:
        if isinstance(node, list):
            return [self._copy(item, defs, resolver) for item in node]
        if not isinstance(node, Mapping):
            return node
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                out["$ref"] = self._copy_ref(value, defs, resolver)
            elif key in _VALUES:
                out[key] = value
            else:
                out[key] = self._copy(value, defs, resolver)
        return _from_30(out) if self._dialect_30 else out

    def _copy_ref(self, ref: str, defs: Defs, resolver: Resolver) -> str:
        target, target_resolver = self._lookup(ref, resolver)
        name, new = defs.name_for(ref)
        if new:
            defs.schemas[name] = self._copy(target, defs, target_resolver)
        return f"#/$defs/{name}"

    def _lookup(self, ref: str, resolver: Resolver) -> tuple[Any, Resolver]:
        try:
            resolved = resolver.lookup(ref)
        except Unresolvable as exc:
            raise SpecError(f"cannot resolve $ref {ref!r} (only references within the document are supported)") from exc
        return resolved.contents, resolved.resolver


def _from_30(node: dict[str, Any]) -> dict[str, Any]:
    """OpenAPI 3.0 schema keywords rewritten to their JSON Schema 2020-12 equivalents."""
    if node.pop("nullable", False) is True:
        kind = node.get("type")
        if isinstance(kind, str):
            node["type"] = [kind, "null"]
        if isinstance(node.get("enum"), list) and None not in node["enum"]:
            node["enum"] = [*node["enum"], None]
    for bound, limit in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        flag = node.get(bound)
        if isinstance(flag, bool):
            del node[bound]
            if flag and limit in node:
                node[bound] = node.pop(limit)
    if "example" in node:
        node.setdefault("examples", [node.pop("example")])
    return node
