"""Does a URI belong to a resource template? (RFC 6570 matching, by the MCP SDK's parser.)"""

from __future__ import annotations

from functools import lru_cache

from mcp.shared.uri_template import InvalidUriTemplate, UriTemplate


@lru_cache(maxsize=1024)
def _parsed(template: str) -> UriTemplate | None:
    try:
        return UriTemplate.parse(template)
    except InvalidUriTemplate:
        return None


def template_matches(template: str, uri: str) -> bool:
    parsed = _parsed(template)
    return parsed is not None and parsed.match(uri) is not None
