"""Load a HubConfig from YAML: resolve ${env:NAME} / ${file:/path} references, report errors by file:line."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from hub.config.locations import readable
from hub.config.model import HubConfig
from hub.errors import ConfigError

_REF = re.compile(r"\$\{(env|file):([^}]+)\}")
_PATH_PREFIX = re.compile(r"^((?:[A-Za-z_]+(?:\[\d+\])?\.?)+): ")


def load_config(path: str | Path, environ: Mapping[str, str] | None = None) -> HubConfig:
    """Read, resolve and validate one config file. Raises ConfigError with 'file:line: where: what'."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the config file ({exc.strerror})") from exc
    return parse_config(text, str(path), os.environ if environ is None else environ, base_dir=path.parent)


def parse_config(text: str, source: str, environ: Mapping[str, str], base_dir: Path | None = None) -> HubConfig:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f"{mark.line + 1}" if mark is not None else "?"
        raise ConfigError(f"{source}:{line}: not valid YAML: {getattr(exc, 'problem', exc)}") from exc
    if root is None:
        data: Any = {}
    else:
        data = _to_python(root, source, environ, base_dir or Path.cwd())
    if not isinstance(data, dict):
        raise ConfigError(f"{source}:1: the top level must be a mapping of sections")
    try:
        return HubConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, root, source)) from exc


def _to_python(node: yaml.Node, source: str, environ: Mapping[str, str], base_dir: Path) -> Any:
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            out[str(key_node.value)] = _to_python(value_node, source, environ, base_dir)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_to_python(item, source, environ, base_dir) for item in node.value]
    value = yaml.SafeLoader("").construct_object(node)
    if isinstance(value, str) and "${" in value:
        return _resolve_refs(value, f"{source}:{node.start_mark.line + 1}", environ, base_dir)
    return value


def _resolve_refs(value: str, where: str, environ: Mapping[str, str], base_dir: Path) -> str:
    def replace(match: re.Match[str]) -> str:
        kind, ref = match.group(1), match.group(2).strip()
        if kind == "env":
            if ref not in environ:
                raise ConfigError(f"{where}: environment variable {ref!r} is not set")
            return environ[ref]
        file = Path(ref) if Path(ref).is_absolute() else base_dir / ref
        try:
            return file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"{where}: cannot read secret file {ref!r} ({exc.strerror})") from exc

    return _REF.sub(replace, value)


def _describe(exc: ValidationError, root: yaml.Node | None, source: str) -> str:
    lines = []
    for err in exc.errors(include_url=False):
        loc = readable(err["loc"])
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "union_tag_invalid":  # e.g. an unknown upstream `kind`: name the field, not the union
            ctx = err.get("ctx", {})
            loc.append(str(ctx.get("discriminator", "kind")).strip("'"))
            msg = f"must be one of {ctx.get('expected_tags', '')} (got {ctx.get('tag', '')!r})"
        match = _PATH_PREFIX.match(msg)
        if match:  # a validator message that names its own place, relative to where it ran
            loc = [*loc, *_parse_path(match.group(1))]
            msg = msg[match.end() :]
        where = _dotted(loc)
        line = _line_of(root, loc)
        lines.append(f"{source}:{line}: {where}: {msg}" if where else f"{source}:{line}: {msg}")
    return "\n".join(lines)


def _parse_path(text: str) -> list[str | int]:
    out: list[str | int] = []
    for part in text.rstrip(".").split("."):
        name, _, rest = part.partition("[")
        out.append(name)
        if rest:
            out.append(int(rest.rstrip("]")))
    return out


def _dotted(loc: list[str | int]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _line_of(root: yaml.Node | None, loc: list[str | int]) -> int:
    node = root
    best = 1 if root is None else root.start_mark.line + 1
    for part in loc:
        child = None
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if key_node.value == part:
                    child = value_node
                    best = key_node.start_mark.line + 1
                    break
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            child = node.value[part]
            best = child.start_mark.line + 1
        if child is None:
            break
        node = child
    return best
