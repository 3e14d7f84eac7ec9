"""`hub check`: a valid file is summarised; an invalid one is reported as `file:line: where: what`, exit status 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.cli import main

VALID = """\
upstreams:
  - name: clock
    kind: streamable-http
    url: http://127.0.0.1:8931/mcp
virtual_servers:
  - name: assistant
    include:
      - upstream: clock
agents:
  - name: demo
    keys: [{key: hub_demo_key}]
    servers: [{server: assistant}]
"""


def check(tmp_path: Path, text: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    path = tmp_path / "hub.yaml"
    path.write_text(text, encoding="utf-8")
    status = main(["check", "--config", str(path)])
    out, err = capsys.readouterr()
    return status, out, err.replace(str(path), "hub.yaml")


def test_a_valid_file_is_summarised(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = check(tmp_path, VALID, capsys)
    assert status == 0
    assert err == ""
    assert "upstreams:       clock" in out
    assert "virtual servers: assistant" in out


def test_an_unknown_upstream_reference_names_its_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = check(tmp_path, VALID.replace("      - upstream: clock", "      - upstream: clokc"), capsys)
    assert status == 2
    assert err.strip() == "hub.yaml:8: virtual_servers[0].include[0]: upstream 'clokc' is not defined"


def test_an_unknown_key_names_its_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = VALID.replace("    kind: streamable-http\n", "    kind: streamable-http\n    colour: blue\n")
    status, _, err = check(tmp_path, text, capsys)
    assert status == 2
    [line] = err.strip().splitlines()
    assert line.startswith("hub.yaml:4: upstreams[0].colour: ")
    assert "xtra" in line or "not permitted" in line


def test_a_missing_environment_variable_names_its_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = VALID.replace("hub_demo_key", '"${env:HUB_TEST_SURELY_UNSET_VARIABLE}"')
    status, _, err = check(tmp_path, text, capsys)
    assert status == 2
    assert err.strip() == "hub.yaml:11: environment variable 'HUB_TEST_SURELY_UNSET_VARIABLE' is not set"


def test_several_errors_are_all_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = VALID.replace("    url: http://127.0.0.1:8931/mcp\n", "    url: ftp://nowhere\n    colour: blue\n")
    status, _, err = check(tmp_path, text, capsys)
    assert status == 2
    lines = err.strip().splitlines()
    assert any(line.startswith("hub.yaml:4: upstreams[0].url: ") for line in lines)
    assert any(line.startswith("hub.yaml:5: upstreams[0].colour: ") for line in lines)
