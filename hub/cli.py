"""`hub serve | check | schema | stdio | keygen | migrate | audit | vault` — argument parsing and wiring only."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime

from hub.config.load import load_config
from hub.config.model import HubConfig
from hub.errors import ConfigError


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hub", description="MCP/A2A agent hub and virtual tool server")
    sub = parser.add_subparsers(dest="command", required=True)

    serve_cmd = sub.add_parser("serve", help="run the hub")
    serve_cmd.add_argument("--config", "-c", required=True)
    serve_cmd.add_argument("--host")
    serve_cmd.add_argument("--port", type=int)

    check = sub.add_parser("check", help="validate a config file and print what it defines")
    check.add_argument("--config", "-c", required=True)

    sub.add_parser("schema", help="print the config file's JSON Schema")
    sub.add_parser("keygen", help="print a new agent key and its sha256 digest")

    migrate = sub.add_parser("migrate", help="bring the database (storage.url) to the newest schema")
    migrate.add_argument("--config", "-c", required=True)

    audit = sub.add_parser("audit", help="check or export the audit log")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True)
    verify = audit_sub.add_parser("verify", help="walk the hash chains; report the first broken link (exit 1)")
    verify.add_argument("--config", "-c", required=True)
    export = audit_sub.add_parser("export", help="write audit records as JSON Lines, oldest first")
    export.add_argument("--config", "-c", required=True)
    export.add_argument("--output", "-o", help="file to write (default: stdout)")
    for name in ("agent", "server", "tool", "method", "outcome"):
        export.add_argument(f"--{name}")
    export.add_argument("--since", type=_timestamp, help="ISO 8601 time (UTC unless it names a zone)")
    export.add_argument("--until", type=_timestamp, help="ISO 8601 time, exclusive")
    vault = sub.add_parser("vault", help="the keys that encrypt upstream credentials in the database")
    vault_sub = vault.add_subparsers(dest="vault_command", required=True)
    vault_sub.add_parser("keygen", help="print a new vault key (for vault.key or a key file)")
    rotate = vault_sub.add_parser(
        "rotate", help="re-encrypt every stored secret with vault.key (old keys in previous_keys)"
    )
    rotate.add_argument("--config", "-c", required=True)

    stdio = sub.add_parser("stdio", help="serve one virtual server on stdin/stdout")
    stdio.add_argument("--url", help="bridge to a remote hub's /servers/NAME/mcp URL")
    stdio.add_argument("--key", help="agent key for --url (or env HUB_KEY)")
    stdio.add_argument("--config", "-c", help="run locally from this config")
    stdio.add_argument("--server", help="virtual server name (with --config)")
    stdio.add_argument("--agent", help="agent whose grants apply (with --config)")

    args = parser.parse_args(argv)
    try:
        if args.command == "schema":
            print(json.dumps(HubConfig.model_json_schema(), indent=2))
            return 0
        if args.command == "keygen":
            from hub.auth.api_keys import digest, generate_key

            key = generate_key()
            print(f"key:    {key}\nsha256: {digest(key)}")
            return 0
        if args.command == "migrate":
            from hub.storage.migrate import migrate_url

            config = load_config(args.config)
            migrate_url(config.storage.url)
            print(f"{config.storage.url}: migrated to the newest schema")
            return 0
        if args.command == "check":
            return _check(args.config)
        if args.command == "audit":
            return _audit(args)
        if args.command == "vault":
            return _vault(args)
        if args.command == "serve":
            from hub.serve import serve

            config = load_config(args.config)
            return serve(config, host=args.host, port=args.port)
        return _stdio(args)
    except ConfigError as exc:
        print(exc.message, file=sys.stderr)
        return 2


def _check(path: str) -> int:
    config = load_config(path)
    print(f"{path}: ok")
    print(f"  upstreams:       {', '.join(u.name for u in config.upstreams) or '-'}")
    print(f"  virtual servers: {', '.join(v.name for v in config.virtual_servers) or '-'}")
    print(f"  agents:          {', '.join(a.name for a in config.agents) or '-'}")
    return 0


def _audit(args: argparse.Namespace) -> int:
    from hub.governance.audit.commands import export_command, verify_command
    from hub.governance.audit.store import AuditFilter

    config = load_config(args.config)
    if args.audit_command == "verify":
        return verify_command(config)
    where = AuditFilter(
        agent=args.agent,
        server=args.server,
        tool=args.tool,
        method=args.method,
        outcome=args.outcome,
        since=args.since,
        until=args.until,
    )
    if args.output is None:
        return export_command(config, where, sys.stdout.buffer)
    with open(args.output, "wb") as output:
        return export_command(config, where, output)


def _timestamp(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _vault(args: argparse.Namespace) -> int:
    if args.vault_command == "keygen":
        from hub.governance.vault.cipher import generate_key

        print(generate_key())
        return 0
    import anyio

    from hub.governance.vault.rotation import rotate

    done = anyio.run(rotate, load_config(args.config))
    print(f"{args.config}: {done.secrets} secrets in {done.rows} rows re-encrypted with the primary key")
    print("  every stored secret now decrypts with vault.key alone; vault.previous_keys can go")
    return 0


def _stdio(args: argparse.Namespace) -> int:
    import os

    from hub.stdio_bridge import bridge_remote, serve_local

    if args.url:
        key = args.key or os.environ.get("HUB_KEY")
        if not key:
            print("hub stdio --url needs --key or HUB_KEY", file=sys.stderr)
            return 2
        return bridge_remote(args.url, key)
    if not (args.config and args.server and args.agent):
        print(
            "hub stdio needs either --url URL --key KEY, or --config FILE --server NAME --agent NAME", file=sys.stderr
        )
        return 2
    return serve_local(load_config(args.config), args.server, args.agent)


if __name__ == "__main__":
    raise SystemExit(main())
