"""`kind: sql` in the config file: what loads, and what is refused with the line and the reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.config.dump import to_data
from hub.config.load import parse_config
from hub.config.model import SqlUpstreamConfig
from hub.errors import ConfigError

CONFIG = """\
upstreams:
  - name: crm
    kind: sql
    url: "postgresql://app:${env:CRM_PASSWORD}@127.0.0.1/crm"
    generic_tools: [list_tables, query]
    max_rows: 200
    tools:
      - name: customer_by_email
        description: Find a customer by e-mail
        sql: "SELECT id, name FROM customers WHERE email = :email"
        parameters:
          type: object
          properties: {email: {type: string, format: email}}
          required: [email]
virtual_servers:
  - name: desk
    include: [{upstream: crm, rename: {customer_by_email: find_customer}}]
"""


def test_a_sql_upstream_loads_with_its_password_as_a_secret(tmp_path: Path) -> None:
    config = parse_config(CONFIG, "hub.yaml", {"CRM_PASSWORD": "pa55word"}, base_dir=tmp_path)
    [crm] = config.upstreams
    assert isinstance(crm, SqlUpstreamConfig)
    assert crm.url.get_secret_value() == "postgresql://app:pa55word@127.0.0.1/crm"
    assert "pa55word" not in repr(config)
    assert to_data(crm, "mask")["url"] == "***"
    assert crm.tools[0].parameters["required"] == ["email"]
    assert crm.generic_tools == ("list_tables", "query")


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ((':email"', ':mail"'), "hub.yaml:10: upstreams[0].tools[0].sql: parameter(s) mail are not declared"),
        (("type: object", "type: array"), "hub.yaml:11: upstreams[0].tools[0].parameters: the schema must have type"),
        (("{type: string, format: email}", "{type: strang}"), "parameters: not a valid JSON Schema"),
        (("postgresql://", "postgresql+"), "hub.yaml:4: upstreams[0].url: not a SQLAlchemy database URL"),
        (("postgresql://", "oracle://"), "url: databases of kind 'oracle' are not supported"),
        (
            ("[list_tables, query]", "[list_tables, drop_all]"),
            "hub.yaml:5: upstreams[0].generic_tools[1]: Input should be",
        ),
        (("customer_by_email\n", "query\n"), "hub.yaml:7: upstreams[0].tools[2]: name 'query' is used twice"),
        (("max_rows: 200", "max_rows: 0"), "hub.yaml:6: upstreams[0].max_rows: "),
    ],
)
def test_mistakes_are_reported_with_line_and_reason(tmp_path: Path, change: tuple[str, str], expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(CONFIG.replace(*change, 1), "hub.yaml", {"CRM_PASSWORD": "pa55word"}, base_dir=tmp_path)
    assert expected in caught.value.message
    assert "pa55word" not in caught.value.message
