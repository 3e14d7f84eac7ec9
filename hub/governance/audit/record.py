"""An audit record: what a caller reports (`AuditEntry`) and what is stored, numbered and chained (`AuditRecord`).

Every record belongs to one chain (one per journal, see journal.py) and carries its place in it
(`seq`), the hash of the record before it (`prev_hash`; the first one of a chain has GENESIS) and
its own `hash`: SHA-256 over the canonical JSON of every other field. Changing, removing or
reordering a stored record breaks the link to the next one (`verify.py` finds it).

The same canonical text is the journal line, so the hot path serializes a record once.
"""

from __future__ import annotations

import hashlib
import json
import json.encoder
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from hub.core import json_text
from hub.errors import HubError

Outcome = Literal["ok", "tool_error", "error", "cancelled"]
GENESIS = "0" * 64
VERSION = 1


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One call, as the layer that handled it reports it; the Auditor redacts, numbers and chains it.

    `kind` names the layer ("mcp", "llm", "a2a"), `method` the operation ("tools/call",
    "chat/completions", "message/send"), `target` what it was about (a tool, resource URI, prompt,
    model or agent). `request` and `response` are raw JSON payloads: the Auditor redacts them and,
    unless the caller already knows them, measures their sizes.
    """

    kind: str
    method: str
    outcome: Outcome
    latency_us: int
    agent: str | None = None
    team: str | None = None
    key_id: str | None = None
    server: str | None = None
    target: str | None = None
    upstream: str | None = None
    error_code: int | None = None
    error: str | None = None
    request: Any = None
    response: Any = None
    request_bytes: int | None = None
    response_bytes: int | None = None


def failure_of(exc: BaseException) -> tuple[int, str]:
    """The JSON-RPC code and message a failed call answered with (what the agent saw)."""
    if isinstance(exc, HubError):
        return exc.rpc_code, exc.message
    code = getattr(exc, "code", None)  # the SDK's MCPError and its kin carry the wire code
    if isinstance(code, int):
        return code, str(getattr(exc, "message", exc))
    return -32603, "internal error"


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """A stored audit record. Text fields are escaped and bounded; payloads are redacted JSON values."""

    id: str
    chain: str
    seq: int
    ts: datetime
    kind: str
    method: str
    outcome: str
    error_code: int | None
    error: str | None
    agent: str | None
    team: str | None
    key_id: str | None
    server: str | None
    target: str | None
    upstream: str | None
    latency_us: int
    request_bytes: int
    response_bytes: int
    request: Any
    response: Any
    prev_hash: str
    hash: str = ""

    def canonical(self) -> str:
        """The text that is hashed: every field but `hash`, keys sorted, compact, ASCII only."""
        return canonical_text(self.fields())

    def fields(self) -> dict[str, Any]:
        return {
            "v": VERSION,
            "id": self.id,
            "chain": self.chain,
            "seq": self.seq,
            "ts": self.ts.isoformat(timespec="microseconds"),
            "kind": self.kind,
            "method": self.method,
            "outcome": self.outcome,
            "error_code": self.error_code,
            "error": self.error,
            "agent": self.agent,
            "team": self.team,
            "key_id": self.key_id,
            "server": self.server,
            "target": self.target,
            "upstream": self.upstream,
            "latency_us": self.latency_us,
            "request_bytes": self.request_bytes,
            "response_bytes": self.response_bytes,
            "request": self.request,
            "response": self.response,
            "prev_hash": self.prev_hash,
        }

    def computed_hash(self) -> str:
        return digest(self.canonical())

    def line(self) -> bytes:
        """The journal line: the canonical text with the hash added (one JSON object, newline-terminated)."""
        return journal_line(self.canonical(), self.hash)

    @classmethod
    def from_fields(cls, data: dict[str, Any]) -> AuditRecord:
        """A record from a journal line's (or an export line's) JSON object."""
        return cls(
            id=str(data["id"]),
            chain=str(data["chain"]),
            seq=int(data["seq"]),
            ts=datetime.fromisoformat(str(data["ts"])),
            kind=str(data["kind"]),
            method=str(data["method"]),
            outcome=str(data["outcome"]),
            error_code=data.get("error_code"),
            error=data.get("error"),
            agent=data.get("agent"),
            team=data.get("team"),
            key_id=data.get("key_id"),
            server=data.get("server"),
            target=data.get("target"),
            upstream=data.get("upstream"),
            latency_us=int(data["latency_us"]),
            request_bytes=int(data["request_bytes"]),
            response_bytes=int(data["response_bytes"]),
            request=data.get("request"),
            response=data.get("response"),
            prev_hash=str(data["prev_hash"]),
            hash=str(data.get("hash", "")),
        )


_COMPACT = json_text.encoder(default=str)
_text = json.encoder.encode_basestring_ascii  # a string as canonical JSON (the encoder's own function)

canonical_text: Callable[[Any], str] = json_text.encoder(sort_keys=True, allow_nan=False)
"""A JSON value as canonical text: keys sorted, compact, ASCII only, no NaN."""


def canonical_spliced(fields: dict[str, Any], request_text: str, response_text: str) -> str:
    """`canonical_text(fields)` with the payloads given as their canonical texts (encoded once, reused for the row).

    `fields` holds None for "request" and "response"; their texts are put in place of those nulls. A
    nested value encodes the same as on its own, so the result equals the canonical text of the full
    record. `"response":null,` is replaced first, while nothing nested is in the text yet; the
    first `"request":null,` then is the top-level one (it comes before "response" in key order). An
    encoded string never holds the pattern: its quotes are escaped.
    """
    text = canonical_text(fields)
    text = text.replace('"response":null,', f'"response":{response_text},', 1)
    return text.replace('"request":null,', f'"request":{request_text},', 1)


def canonical_of(record: AuditRecord, request_text: str, response_text: str) -> str:
    """`record.canonical()` with its payloads given as their canonical texts: the hot path's encoding.

    Written field by field in key order (a third of the time of building `fields()` and encoding
    it), with the encoder's own string function, so the text is the same. A field of a type the
    template does not write the encoder's way (an int that is not exactly an int, a text that is
    not a string) takes `canonical_spliced` instead.
    """
    r = record
    if not (type(r.seq) is type(r.latency_us) is type(r.request_bytes) is type(r.response_bytes) is int) or (
        r.error_code is not None and type(r.error_code) is not int
    ):
        return canonical_spliced(_without_payloads(r), request_text, response_text)
    try:
        return (
            f'{{"agent":{_opt(r.agent)},"chain":{_text(r.chain)},"error":{_opt(r.error)},'
            f'"error_code":{"null" if r.error_code is None else r.error_code},"id":{_text(r.id)},'
            f'"key_id":{_opt(r.key_id)},"kind":{_text(r.kind)},"latency_us":{r.latency_us},'
            f'"method":{_text(r.method)},"outcome":{_text(r.outcome)},"prev_hash":{_text(r.prev_hash)},'
            f'"request":{request_text},"request_bytes":{r.request_bytes},"response":{response_text},'
            f'"response_bytes":{r.response_bytes},"seq":{r.seq},"server":{_opt(r.server)},'
            f'"target":{_opt(r.target)},"team":{_opt(r.team)},'
            f'"ts":{_text(r.ts.isoformat(timespec="microseconds"))},"upstream":{_opt(r.upstream)},"v":{VERSION}}}'
        )
    except TypeError:  # a text field that is not a string
        return canonical_spliced(_without_payloads(r), request_text, response_text)


def _without_payloads(record: AuditRecord) -> dict[str, Any]:
    return record.fields() | {"request": None, "response": None}


def _opt(text: str | None) -> str:
    return "null" if text is None else _text(text)


def digest(canonical: str) -> str:
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


def journal_line(canonical: str, hash_: str) -> bytes:
    return f'{canonical[:-1]},"hash":"{hash_}"}}\n'.encode("ascii")


def payload_text(value: Any) -> str:
    """A payload as stored in the database: canonical JSON text (parsed back, it hashes the same)."""
    return canonical_text(value)


def json_size(value: Any) -> int:
    """Bytes of the compact JSON encoding of a payload (0 for none)."""
    if value is None:
        return 0
    return len(_COMPACT(value))
