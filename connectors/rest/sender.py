"""Send one REST request over the upstream's pooled client: credentials, redirects, retries, size bound.

Credentials go only to the base URL's origin. Redirects are followed (at most MAX_REDIRECTS) only
to allowed hosts. Idempotent requests are retried, with exponential backoff, on connection failures
(one that could not be opened, broke, or that the service closed without answering: a kept-alive
connection it closed for idling just as the request went out, see connectors/keepalive.py) and on
502/503/504. Bodies are read up to the size bound and no further.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import anyio
import httpx2

from connectors.rest.credentials import Credentials
from connectors.rest.hosts import HostPolicy
from connectors.rest.request import BaseUrl, Outgoing
from connectors.rest.response import Reply
from hub.errors import UpstreamError

log = logging.getLogger(__name__)

MAX_REDIRECTS = 5
RETRY_STATUSES = frozenset({502, 503, 504})
# A connection that failed before an answer: not opened, broken, or closed by the service unanswered.
_RETRY_ERRORS = (httpx2.ConnectTimeout, httpx2.NetworkError, httpx2.RemoteProtocolError)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    retries: int
    backoff_s: float


class Sender:
    def __init__(
        self,
        client: httpx2.AsyncClient,
        base: BaseUrl,
        hosts: HostPolicy,
        credentials: Credentials,
        max_bytes: int,
        auth: httpx2.Auth | None = None,
    ) -> None:
        self._client = client
        self._auth = auth
        self.base = base
        self._hosts = hosts
        self._credentials = credentials
        self._max_bytes = max_bytes

    async def send(self, outgoing: Outgoing, retry: RetryPolicy | None) -> Reply:
        """The final reply; bounded retries when `retry` is given (the caller bounds the time)."""
        attempts = 1 + (retry.retries if retry else 0)
        for attempt in range(attempts):
            last = attempt == attempts - 1
            try:
                reply = await self._exchange(outgoing)
            except _RETRY_ERRORS:
                if last:
                    raise
            else:
                if last or reply.status not in RETRY_STATUSES:
                    return reply
            assert retry is not None
            log.info("rest.retry", extra={"url": str(outgoing.url.copy_with(query=None)), "attempt": attempt + 1})
            await anyio.sleep(retry.backoff_s * 2**attempt)
        raise AssertionError("unreachable: the last attempt returns or raises")

    async def _exchange(self, outgoing: Outgoing) -> Reply:
        """One request and the redirects it leads to."""
        method, url, content = outgoing.method, outgoing.url, outgoing.content
        params: list[tuple[str, str]] | None = list(outgoing.params)
        for _ in range(MAX_REDIRECTS + 1):
            request = self._request(outgoing, method, url, params, content)
            auth = self._auth if self.base.same_origin(request.url) else None
            response = await self._client.send(request, stream=True, auth=auth)
            try:
                location = response.headers.get("location") if response.is_redirect else None
                if location is None:
                    return await self._read(response)
            finally:
                await response.aclose()
            url = request.url.join(location)
            if not self._hosts.allows(url) or url.scheme not in ("http", "https"):
                raise UpstreamError(f"the upstream redirected to a host that is not allowed ({url.host})")
            if response.status_code == 303 or (response.status_code in (301, 302) and method == "POST"):
                method, content = ("HEAD" if method == "HEAD" else "GET"), None
            params = None  # the Location carries its own query
        raise UpstreamError(f"the upstream redirected more than {MAX_REDIRECTS} times")

    def _request(
        self,
        outgoing: Outgoing,
        method: str,
        url: httpx2.URL,
        params: list[tuple[str, str]] | None,
        content: bytes | None,
    ) -> httpx2.Request:
        headers = list(outgoing.headers)
        query: list[tuple[str, str | int | float | bool | None]] = list(params or [])
        if self.base.same_origin(url):  # credentials never follow a redirect to another origin
            secret = self._credentials.names()
            headers = [h for h in headers if h[0].lower() not in secret] + list(self._credentials.headers)
        if content is not None and outgoing.content_type:
            headers.append(("Content-Type", outgoing.content_type))
        return self._client.build_request(method, url, params=query or None, headers=headers, content=content)

    async def _read(self, response: httpx2.Response) -> Reply:
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            chunks.append(chunk)
            size += len(chunk)
            if size > self._max_bytes:
                break
        body = b"".join(chunks)
        return Reply(
            status=response.status_code,
            reason=response.reason_phrase,
            content_type=response.headers.get("content-type", ""),
            body=body[: self._max_bytes],
            truncated=size > self._max_bytes,
        )
