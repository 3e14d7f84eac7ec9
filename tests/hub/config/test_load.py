"""parse_config: ${env:}/${file:} references, and errors as `file:line: where: what`."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.config.load import load_config, parse_config
from hub.config.model import OAuth2AuthConfig, StreamableHttpUpstreamConfig
from hub.errors import ConfigError

BASE = """\
upstreams:
  - name: notes
    kind: stdio
    command: python
    env: {TOKEN: "${env:NOTES_TOKEN}"}
  - name: remote
    kind: sse
    url: http://127.0.0.1:9000/sse
    headers: {Authorization: "Bearer ${file:secret.txt}"}
virtual_servers:
  - name: desk
    include: [{upstream: notes}, {upstream: remote}]
"""


def test_references_are_resolved_into_secrets(tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_text("s3cret\n", encoding="utf-8")
    config = parse_config(BASE, "hub.yaml", {"NOTES_TOKEN": "t0ken"}, base_dir=tmp_path)
    notes, remote = config.upstreams
    assert notes.env["TOKEN"].get_secret_value() == "t0ken"
    assert remote.headers["Authorization"].get_secret_value() == "Bearer s3cret"
    assert "t0ken" not in repr(config)


def test_a_missing_variable_names_its_line(tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_text("s3cret", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        parse_config(BASE, "hub.yaml", {}, base_dir=tmp_path)
    assert caught.value.message == "hub.yaml:5: environment variable 'NOTES_TOKEN' is not set"


def test_an_unreadable_secret_file_names_its_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(BASE, "hub.yaml", {"NOTES_TOKEN": "x"}, base_dir=tmp_path)
    assert caught.value.message.startswith("hub.yaml:9: cannot read secret file 'secret.txt'")


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("{upstream: remote}", "{upstream: remot}"), "hub.yaml:12: virtual_servers[0].include[1]: upstream 'remot'"),
        (("    command: python\n", "    command: python\n    comand: typo\n"), "hub.yaml:5: upstreams[0].comand: "),
        (("kind: sse", "kind: carrier-pigeon"), "hub.yaml:7: upstreams[1].kind: "),
        (("  - name: desk", "  - name: desk\n  - name: desk"), "hub.yaml:12: virtual_servers[1]: name 'desk' is used"),
    ],
)
def test_errors_name_file_line_and_place(tmp_path: Path, change: tuple[str, str], expected: str) -> None:
    (tmp_path / "secret.txt").write_text("s3cret", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        parse_config(BASE.replace(*change), "hub.yaml", {"NOTES_TOKEN": "x"}, base_dir=tmp_path)
    assert caught.value.message.startswith(expected), caught.value.message


def test_not_yaml_names_its_line() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config("upstreams:\n  - {name: [unclosed\n", "hub.yaml", {})
    assert caught.value.message.startswith("hub.yaml:3: not valid YAML")


def test_an_unreadable_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path / "missing.yaml", environ={})
    assert "cannot read the config file" in caught.value.message


def test_an_auth_block_takes_references_and_its_errors_name_the_field() -> None:
    text = """\
upstreams:
  - name: crm
    kind: streamable-http
    url: http://127.0.0.1:9/mcp
    auth:
      type: oauth2
      token_url: http://127.0.0.1:9/token
      client_id: hub
      client_secret: "${env:CRM_SECRET}"
      scopes: [read]
"""
    config = parse_config(text, "hub.yaml", {"CRM_SECRET": "cs3cret"})
    upstream = config.upstreams[0]
    assert isinstance(upstream, StreamableHttpUpstreamConfig)
    assert isinstance(upstream.auth, OAuth2AuthConfig)
    assert upstream.auth.client_secret.get_secret_value() == "cs3cret"
    assert "cs3cret" not in repr(config)
    with pytest.raises(ConfigError) as caught:
        parse_config(text.replace("      scopes: [read]", "      scopes: 5"), "hub.yaml", {"CRM_SECRET": "x"})
    assert caught.value.message == "hub.yaml:10: upstreams[0].auth.scopes: Input should be a valid tuple"
    bearer = text.split("      token_url")[0].replace("type: oauth2", "type: bearer") + '      token: "a\\nb"\n'
    with pytest.raises(ConfigError) as bad_token:
        parse_config(bearer, "hub.yaml", {})
    assert bad_token.value.message == "hub.yaml:7: upstreams[0].auth.token: a credential cannot contain CR, LF or NUL"
