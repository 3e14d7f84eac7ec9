"""Read an OpenAPI document from a file or an http(s) URL (JSON or YAML), within the host allow-list."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
import httpx2
import yaml

from connectors.rest.hosts import HostPolicy
from connectors.rest.schema import SpecError

MAX_DOCUMENT_BYTES = 16 * 1024 * 1024


async def load_document(source: str, client: httpx2.AsyncClient, hosts: HostPolicy) -> tuple[Any, str]:
    """The parsed document and the URI it was read from, or SpecError (OSError for an unreadable file)."""
    if source.startswith(("http://", "https://")):
        url = httpx2.URL(source)
        if hosts.restricted and not hosts.allows(url):
            raise SpecError(f"the document's host {url.host!r} is not in allowed_hosts")
        raw = await _fetch(client, url)
        uri = source
    else:
        path = await anyio.Path(source).resolve()
        raw = await path.read_bytes()
        uri = Path(path).as_uri()
    if len(raw) > MAX_DOCUMENT_BYTES:
        raise SpecError(f"the document is larger than {MAX_DOCUMENT_BYTES} bytes")
    return await anyio.to_thread.run_sync(_parse, raw), uri


async def _fetch(client: httpx2.AsyncClient, url: httpx2.URL) -> bytes:
    """The document's bytes, read no further than one byte past the size bound."""
    headers = {"Accept": "application/json, application/yaml;q=0.9, */*;q=0.5"}
    try:
        async with client.stream("GET", url, headers=headers) as response:
            if response.is_redirect:
                raise SpecError(f"the document URL redirects (HTTP {response.status_code}); configure the final URL")
            if response.status_code != 200:
                raise SpecError(f"fetching the document answered HTTP {response.status_code}")
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > MAX_DOCUMENT_BYTES:
                    break
            return bytes(body)
    except httpx2.HTTPError as exc:
        raise SpecError(f"cannot fetch the document: {str(exc) or type(exc).__name__}") from exc


def _parse(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        pass
    try:
        return yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        raise SpecError(f"the document is neither JSON nor YAML: {str(exc).splitlines()[0]}") from exc
