"""The REST connector against a real REST service on loopback: catalog, calls, retries, redirects, failures."""

from __future__ import annotations

import asyncio
import socket
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest

from connectors.rest.connector import RestConnector
from hub.config.model import RestUpstreamConfig
from hub.core.connector import CallContext, UpstreamState
from hub.core.principal import Principal
from hub.errors import InvalidParamsError, NotFoundError, UpstreamError, UpstreamTimeoutError
from hub.governance.vault.http_auth import http_auth

pytestmark = pytest.mark.anyio

SERVICE = Path(__file__).resolve().parents[3] / "tests" / "servers" / "rest_service.py"
TIMEOUT = 20.0
TOKEN = "s3cret-token-for-tests"


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
async def service(start_upstream: Callable[..., AbstractAsyncContextManager[str]]) -> AsyncIterator[str]:
    async with start_upstream(SERVICE) as url:
        yield url


def rest_config(**fields: Any) -> RestUpstreamConfig:
    return RestUpstreamConfig.model_validate({"name": "svc", "kind": "rest", "connect_timeout_s": 5, **fields})


async def wait_for(connector: RestConnector, *states: UpstreamState) -> None:
    changed = [anyio.Event()]
    connector.subscribe_changes(lambda _: changed[0].set())
    while connector.health.state not in states:
        await changed[0].wait()
        changed[0] = anyio.Event()


@asynccontextmanager
async def running(
    config: RestUpstreamConfig, until: tuple[UpstreamState, ...] = ("ready",)
) -> AsyncIterator[RestConnector]:
    connector = RestConnector(config, auth=http_auth(config.auth, config.name, config.connect_timeout_s))
    async with anyio.create_task_group() as tg:
        tg.start_soon(connector.run)
        with anyio.fail_after(TIMEOUT):
            await wait_for(connector, *until)
        yield connector
        tg.cancel_scope.cancel()


@pytest.fixture(scope="module")
async def svc(service: str) -> AsyncIterator[RestConnector]:
    """The service's own OpenAPI document, a bearer token, and a hand-written tool."""
    config = rest_config(
        openapi={"source": f"{service}/api/openapi.json"},
        auth={"type": "bearer", "token": TOKEN},
        headers={"X-Api-Client": "hub-tests"},
        max_response_bytes=4096,
        retry_backoff_s=0.01,
        base_url=f"{service}/api",
        tools=[
            {
                "name": "echo_path",
                "path": "/echo/{value}",
                "parameters": {"type": "object", "required": ["value"], "properties": {"value": {"type": "string"}}},
                "response": "/received",
            }
        ],
    )
    async with running(config) as connector:
        yield connector


def ctx(seconds: float = TIMEOUT) -> CallContext:
    return CallContext(Principal("tester", None, {}), "s", anyio.current_time() + seconds)


async def call(connector: RestConnector, name: str, arguments: Any, seconds: float = TIMEOUT) -> dict[str, Any]:
    with anyio.fail_after(TIMEOUT):
        return await connector.request("tools/call", {"name": name, "arguments": arguments}, ctx(seconds))


async def test_the_catalog_lists_every_operation_and_the_hand_written_tool(svc: RestConnector) -> None:
    assert svc.health.state == "ready"
    assert svc.catalog is not None
    names = {tool["name"] for tool in svc.catalog.tools}
    assert {"getItem", "deleteItem", "createItem", "search", "post_trees", "status", "echo_path"} <= names
    get_item = next(t for t in svc.catalog.tools if t["name"] == "getItem")
    assert get_item["description"] == "Get one item\n\nReturns the item and echoes the request."
    assert set(get_item["inputSchema"]["properties"]) == {"item_id", "verbose", "X-Trace"}


async def test_a_call_sends_path_query_header_and_credentials(svc: RestConnector) -> None:
    result = await call(svc, "getItem", {"item_id": "a b", "verbose": True, "X-Trace": "t-1"})
    assert result["isError"] is False
    received = result["structuredContent"]["received"]
    assert received["raw_path"] == "/api/items/a%20b"
    assert received["query"] == "verbose=true"
    assert received["headers"]["x-trace"] == "t-1"
    assert received["headers"]["authorization"] == f"Bearer {TOKEN}"
    assert received["headers"]["x-api-client"] == "hub-tests"


async def test_calls_share_one_pooled_connection(svc: RestConnector) -> None:
    ports = {(await call(svc, "echo_path", {"value": str(n)}))["structuredContent"]["client_port"] for n in range(3)}
    assert len(ports) == 1


@pytest.mark.parametrize(
    "value",
    [
        "http://169.254.169.254/",
        "../../secret",
        "../",
        "%2e%2e",
        "%2e%2e%2f%2e%2e%2fsecret",
        "//evil.example/secret",
        "@evil.example",
        "x\r\nHost: evil.example",
        "http://evil.example/",
    ],
)
async def test_hostile_path_values_stay_one_segment_on_the_base_url(svc: RestConnector, value: str) -> None:
    result = await call(svc, "echo_path", {"value": value})
    assert "SECRET" not in str(result)
    if "\n" in value:  # arrives percent-encoded; the service's router does not match line breaks in a segment
        assert result["content"][0]["text"].startswith("HTTP 404")
        return
    assert result["isError"] is False
    received = result["structuredContent"]
    assert received["path_params"]["rest"] == value  # arrived whole, as one segment
    assert received["raw_path"].count("/") == 3  # /api/echo/<one segment>
    assert received["host"].startswith("127.0.0.1:")


async def test_a_json_body_is_built_from_flattened_arguments(svc: RestConnector) -> None:
    result = await call(svc, "createItem", {"name": "bolt", "kind": "part", "tags": ["m3"]})
    received = result["structuredContent"]["received"]
    assert received["method"] == "POST"
    assert received["body"] == {"name": "bolt", "kind": "part", "tags": ["m3"]}
    assert received["content_type"] == "application/json"


async def test_invalid_arguments_name_the_field_and_send_nothing(svc: RestConnector) -> None:
    with pytest.raises(InvalidParamsError) as bad:
        await call(svc, "createItem", {"name": "bolt", "kind": "screw"})
    assert bad.value.data == {"field": "kind"}
    assert "'tool', 'part'" in bad.value.message
    with pytest.raises(InvalidParamsError) as missing:
        await call(svc, "search", {"limit": 5})
    assert missing.value.data == {"field": "q"}
    with pytest.raises(InvalidParamsError) as header:
        await call(svc, "getItem", {"item_id": "1", "X-Trace": "a\r\nX-Admin: yes"})
    assert header.value.data == {"field": "X-Trace"}


async def test_arrays_and_query_parameters(svc: RestConnector) -> None:
    result = await call(svc, "search", {"q": "nut", "limit": 2})
    assert result["structuredContent"] == {"result": [{"id": 0, "title": "nut 0"}, {"id": 1, "title": "nut 1"}]}


async def test_error_statuses_are_tool_errors(svc: RestConnector) -> None:
    not_found = await call(svc, "status", {"code": 404})
    assert not_found["isError"] is True
    assert not_found["content"][0]["text"] == 'HTTP 404 Not Found: {"error":"status 404","detail":"requested"}'
    teapot = await call(svc, "status", {"code": 418})
    assert teapot["isError"] is True
    assert teapot["content"][0]["text"].endswith("...(trimmed)")


async def test_binary_images_and_large_bodies(svc: RestConnector) -> None:
    binary = await call(svc, "binary", {})
    assert binary["content"][0]["text"] == "[binary response: application/octet-stream, 1024 bytes; not shown]"
    image = await call(svc, "image", {})
    assert image["content"][0]["type"] == "image"
    assert image["content"][0]["mimeType"] == "image/png"
    large = await call(svc, "large", {"size": 100_000})
    assert large["content"][0]["text"].endswith("[truncated at 4096 bytes]")


async def test_a_slow_service_times_out_at_the_call_deadline(svc: RestConnector) -> None:
    with pytest.raises(UpstreamTimeoutError) as late:
        await call(svc, "slow", {"seconds": 10}, seconds=0.3)
    assert "svc" in late.value.message


async def test_idempotent_calls_are_retried_on_503(svc: RestConnector) -> None:
    recovered = await call(svc, "flaky", {"key": "get-recovers", "failures": 2})
    assert recovered["structuredContent"] == {"calls": 3}
    exhausted = await call(svc, "flaky", {"key": "get-exhausted", "failures": 5})
    assert exhausted["isError"] is True
    assert exhausted["content"][0]["text"].startswith("HTTP 503")
    # Three attempts per call (retries: 2): the next call's attempts are calls 4, 5 and 6, and 6 succeeds.
    assert (await call(svc, "flaky", {"key": "get-exhausted", "failures": 5}))["structuredContent"] == {"calls": 6}
    post = await call(svc, "flakyPost", {"key": "post-once", "failures": 1})
    assert post["isError"] is True  # POST is not idempotent: one attempt only
    assert (await call(svc, "flakyPost", {"key": "post-once", "failures": 1}))["structuredContent"] == {"calls": 2}


async def test_redirects_are_followed_only_on_allowed_hosts(svc: RestConnector, service: str) -> None:
    port = service.rsplit(":", 1)[1]
    same = await call(svc, "redirect", {"to": "/api/echo/landed"})
    assert same["structuredContent"]["received"]["raw_path"] == "/api/echo/landed"
    assert same["structuredContent"]["received"]["headers"]["authorization"] == f"Bearer {TOKEN}"
    for target in (f"http://localhost:{port}/api/echo/x", "http://169.254.169.254/latest/meta-data/"):
        with pytest.raises(UpstreamError, match="not allowed"):
            await call(svc, "redirect", {"to": target})


async def test_an_allowed_redirect_host_gets_no_credentials(service: str) -> None:
    port = service.rsplit(":", 1)[1]
    config = rest_config(
        openapi={"source": f"{service}/api/openapi.json", "operations": ["redirect"]},
        auth={"type": "api_key", "name": "X-Key", "value": TOKEN},
        allowed_hosts=["127.0.0.1", "localhost"],
    )
    async with running(config) as connector:
        result = await call(connector, "redirect", {"to": f"http://localhost:{port}/api/echo/there"})
    received = result["structuredContent"]["received"]
    assert received["host"] == f"localhost:{port}"
    assert "x-key" not in received["headers"]


async def test_only_tools_call_is_served(svc: RestConnector) -> None:
    with pytest.raises(InvalidParamsError, match="serves tools only"):
        await svc.request("resources/read", {"uri": "x://y"}, ctx())
    with pytest.raises(NotFoundError):
        await call(svc, "no_such_tool", {})


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_a_document_that_is_down_is_retried_until_it_is_up(stop_process: Any) -> None:
    port = _free_port()
    config = rest_config(openapi={"source": f"http://127.0.0.1:{port}/api/openapi.json"}, spec_retry_backoff_max_s=0.5)
    async with running(config, until=("down",)) as connector:
        assert connector.catalog is None
        assert connector.health.detail.startswith("cannot fetch the document: ")
        with pytest.raises(UpstreamError, match="not available"):
            await call(connector, "getItem", {"item_id": "1"})
        process = await anyio.open_process([sys.executable, str(SERVICE), "--port", str(port)], start_new_session=True)
        try:
            with anyio.fail_after(TIMEOUT):
                await wait_for(connector, "ready")
            result = await call(connector, "getItem", {"item_id": "1"})
            assert result["structuredContent"]["received"]["raw_path"] == "/api/items/1"
        finally:
            await stop_process(process)


@pytest.mark.parametrize(
    ("fields", "detail"),
    [
        ({"openapi": {"source": "{service}/api/openapi.json"}, "allowed_hosts": ["api.example.test"]}, "allowed_hosts"),
        ({"openapi": {"source": "{service}/api/items/1"}}, "not an OpenAPI"),
        ({"openapi": {"source": "{service}/api/redirect?to=/api/openapi.json"}}, "the document URL redirects"),
        ({"openapi": {"source": "{service}/api/status/500"}}, "answered HTTP 500"),
        ({"openapi": {"source": "/nonexistent/openapi.yaml"}}, "No such file"),
        (
            {"base_url": "http://10.0.0.1/", "allowed_hosts": ["127.0.0.1"], "tools": [{"name": "a", "path": "/a"}]},
            "base URL",
        ),
    ],
)
async def test_a_bad_document_or_host_is_reported_in_health(service: str, fields: dict[str, Any], detail: str) -> None:
    if "openapi" in fields:
        fields = {**fields, "openapi": {"source": fields["openapi"]["source"].replace("{service}", service)}}
    async with running(rest_config(**fields), until=("down",)) as connector:
        assert detail in connector.health.detail
        assert connector.catalog is None


@asynccontextmanager
async def closing_on_reuse() -> AsyncIterator[tuple[str, list[str]]]:
    """A service that answers the first request on a connection and closes it unanswered at the second.

    That is what a service does when it closes a kept-alive connection for idling just as the next
    request on it goes out. Yields the base URL and the request lines received, in order.
    """
    received: list[str] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(
                (
                    int(line.split(b":")[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                ),
                0,
            )
            await reader.readexactly(length)
            received.append(head.split(b"\r\n")[0].decode())
            body = b'{"served": %d}' % len(received)
            writer.write(
                b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body)
            )
            await writer.drain()
            head = await reader.readuntil(b"\r\n\r\n")  # the next request on this connection: closed unanswered
            received.append(head.split(b"\r\n")[0].decode())
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    async with server:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}", received


async def test_an_idempotent_call_is_retried_when_its_kept_alive_connection_was_closed_unanswered() -> None:
    async with closing_on_reuse() as (url, received):
        tools = [{"name": "get_it", "path": "/it"}, {"name": "post_it", "method": "POST", "path": "/it"}]
        async with running(rest_config(base_url=url, tools=tools, retry_backoff_s=0.01)) as connector:
            first = await call(connector, "get_it", {})
            again = await call(connector, "get_it", {})  # its pooled connection is closed unanswered: a new one
            assert (first["isError"], again["isError"]) == (False, False)
            assert again["structuredContent"] == {"served": 3}
            assert received == ["GET /it HTTP/1.1"] * 3
            with pytest.raises(UpstreamError, match="'svc' is unreachable"):
                await call(connector, "post_it", {})  # not idempotent: never sent twice
            assert received == ["GET /it HTTP/1.1"] * 3 + ["POST /it HTTP/1.1"]
