"""The one configuration model: startup sections and the catalog the database is seeded from."""

from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    PositiveFloat,
    PositiveInt,
    SecretStr,
    StringConstraints,
    model_validator,
)

from hub.config.llm import LlmConfig, ModelGroupConfig, check_llm_references

# A name that is safe in a URL path segment, a log field and a tool-name prefix.
Name = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
# The MCP spec's tool-name rule (2025-11-25): 1-128 chars of A-Z a-z 0-9 _ - . /
ToolName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_./-]{1,128}$")]
TOOL_NAME_RE = re.compile(r"^[A-Za-z0-9_./-]{1,128}$")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- startup sections -------------------------------------------------------------------------


class LimitsConfig(_Model):
    max_body_bytes: PositiveInt = 4 * 1024 * 1024
    max_header_bytes: PositiveInt = 16 * 1024
    max_header_count: PositiveInt = 100
    slow_client_timeout_s: PositiveFloat = 30.0
    max_sessions_per_agent: PositiveInt = 100
    max_sessions: PositiveInt = 10_000
    session_idle_timeout_s: PositiveFloat = 30 * 60


class AdminConfig(_Model):
    """A person or tool allowed on /admin: `admin` may change anything, `viewer` may only read."""

    name: Name
    token: SecretStr
    role: Literal["admin", "viewer"] = "viewer"


class ServerConfig(_Model):
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=0, le=65535)] = 8000
    public_url: str | None = None
    admin_token: SecretStr | None = None  # shorthand for one admin named "admin" with role admin
    admins: tuple[AdminConfig, ...] = ()
    allowed_hosts: tuple[str, ...] = ()
    allowed_origins: tuple[str, ...] = ()
    shutdown_grace_s: PositiveFloat = 10.0
    # How long an idle agent connection stays open for its next request. Longer than clients keep
    # theirs (httpx, which the MCP Python SDK uses: 5 s), so the client closes first and never sends
    # a request on a connection the hub is closing; behind a load balancer, set it above the
    # balancer's own idle timeout (AWS ALB: 60 s).
    keep_alive_s: PositiveInt = 30
    limits: LimitsConfig = LimitsConfig()
    # A 2026-07-28 tools/call that asked for no progress and no log messages is answered in its own
    # task, beside the SDK transport (hub/transports/lean_tool_calls.py); false: always the SDK's.
    lean_tool_calls: bool = True
    # A request POSTed to an open 2025-era session gets its SSE answer written in the POST's own
    # task (hub/transports/handshake_posts.py); false: sse-starlette's response, as the SDK writes it.
    lean_handshake_posts: bool = True
    # With lean_handshake_posts, a 2025-era request whose response is ready within this long, with
    # nothing streamed before it, is answered as one JSON body (the connection stays reusable); a
    # slower or streaming one gets the primed, resumable SSE answer. 0: always SSE.
    handshake_json_within_s: Annotated[float, Field(ge=0, le=60)] = 0.25


class StorageConfig(_Model):
    url: str = "sqlite+aiosqlite:///data/hub.db"
    redis_url: str | None = None  # shared state across replicas (rate-limit budgets); install hub[redis]
    # How often each replica checks the database for catalog changes other replicas made (key
    # revocations, agents, servers); a change is in force everywhere within about this long.
    sync_interval_s: Annotated[float, Field(gt=0, le=60)] = 0.25


class ObservabilityConfig(_Model):
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["json", "text"] = "text"


class AuditRedactConfig(_Model):
    """What the audit log keeps of arguments and results: secrets by key name, and bounded text."""

    keys: tuple[str, ...] = (  # globs on object keys, case-insensitive, "-" read as "_"
        "*password*",
        "*passwd*",
        "*secret*",
        "*token",  # access_token, refreshToken; not max_tokens
        "*authorization*",
        "*api_key*",
        "*apikey*",
        "*cookie*",
        "*credential*",
        "*private_key*",
    )
    max_string_length: PositiveInt = 2048
    max_items: PositiveInt = 200  # list items kept per list


class AuditConfig(_Model):
    """The audit log: one hash-chained record per agent request, journaled locally, then stored in the database."""

    enabled: bool = True
    journal_dir: Path | None = None  # default: "audit" beside a SQLite storage file, else data/audit
    fsync: bool = False  # fsync each journal append (survives power loss, not only a killed process)
    batch_size: PositiveInt = 500
    batch_interval_s: PositiveFloat = 1.0
    segment_bytes: PositiveInt = 16 * 1024 * 1024
    retention_days: PositiveInt | None = None  # None: keep every record
    redact: AuditRedactConfig = AuditRedactConfig()


class OAuthConfig(_Model):
    """Accept OAuth 2.1 bearer tokens (JWTs) from one identity provider, besides hub API keys."""

    issuer: str
    jwks_url: Annotated[str, StringConstraints(pattern=r"^https?://")]
    audience: str | None = None  # the hub's resource URL; default: server.public_url
    agent_claim: str = "sub"  # the claim whose value names the agent
    # The claim naming the caller's teams (a list, or one name as a string), e.g. "groups"; a dotted
    # path reaches into nested claims ("realm_access.roles"). None: tokens name agents only.
    team_claim: str | None = None
    required_scopes: tuple[str, ...] = ()
    algorithms: tuple[str, ...] = ("RS256", "ES256", "PS256", "EdDSA")
    jwks_cache_s: PositiveFloat = 300.0
    leeway_s: Annotated[float, Field(ge=0)] = 30.0


# --- upstreams ---------------------------------------------------------------------------------


class _UpstreamBase(_Model):
    name: Name
    description: str = ""
    call_timeout_s: PositiveFloat = 30.0
    connect_timeout_s: PositiveFloat = 10.0
    enabled: bool = True


class StdioUpstreamConfig(_UpstreamBase):
    kind: Literal["stdio"]
    command: str
    args: tuple[str, ...] = ()
    env: dict[str, SecretStr] = Field(default_factory=dict)
    cwd: Path | None = None
    start: Literal["boot", "on_demand"] = "boot"
    restart_backoff_s: PositiveFloat = 0.5
    restart_backoff_max_s: PositiveFloat = 30.0


# --- credentials an HTTP upstream is called with ---------------------------------------------------

# An HTTP header (or query parameter) name, and a value that cannot split a request (no CR, LF, NUL).
HeaderName = Annotated[str, StringConstraints(pattern=r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,256}$")]
_UNSAFE_VALUE = re.compile(r"[\r\n\x00]")


def _safe_secret(field: str, value: SecretStr) -> None:
    if _UNSAFE_VALUE.search(value.get_secret_value()):
        raise ValueError(f"{field}: a credential cannot contain CR, LF or NUL")


class BearerAuthConfig(_Model):
    """`Authorization: Bearer <token>`."""

    type: Literal["bearer"]
    token: SecretStr

    @model_validator(mode="after")
    def _safe(self) -> BearerAuthConfig:
        _safe_secret("token", self.token)
        return self


class BasicAuthConfig(_Model):
    """HTTP Basic authentication (RFC 7617)."""

    type: Literal["basic"]
    username: str
    password: SecretStr


class ApiKeyAuthConfig(_Model):
    """An API key in a named request header, or in a query parameter."""

    type: Literal["api_key"]
    name: HeaderName
    value: SecretStr
    location: Literal["header", "query"] = "header"

    @model_validator(mode="after")
    def _safe(self) -> ApiKeyAuthConfig:
        _safe_secret("value", self.value)
        return self


class OAuth2AuthConfig(_Model):
    """OAuth 2.0 client credentials (RFC 6749 section 4.4): a fetched access token, sent as a bearer token."""

    type: Literal["oauth2"]
    token_url: Annotated[str, StringConstraints(pattern=r"^https?://")]
    client_id: str
    client_secret: SecretStr
    scopes: tuple[str, ...] = ()
    audience: str | None = None
    client_auth: Literal["basic", "post"] = "basic"  # client_secret_basic, or client_secret_post (in the body)
    refresh_before_s: Annotated[float, Field(ge=0)] = 30.0  # fetch a new token this long before expiry


UpstreamAuthConfig = Annotated[
    BearerAuthConfig | BasicAuthConfig | ApiKeyAuthConfig | OAuth2AuthConfig, Field(discriminator="type")
]


class _HttpUpstreamBase(_UpstreamBase):
    url: Annotated[str, StringConstraints(pattern=r"^https?://")]
    headers: dict[str, SecretStr] = Field(default_factory=dict)
    auth: UpstreamAuthConfig | None = None


class SseUpstreamConfig(_HttpUpstreamBase):
    kind: Literal["sse"]


class StreamableHttpUpstreamConfig(_HttpUpstreamBase):
    kind: Literal["streamable-http"]
    protocol: Literal["auto", "legacy", "2026-07-28"] = "auto"
    # tools/call without progress as one plain POST beside the SDK client, both eras (same wire); false: SDK only
    lean_calls: bool = True


# A header value an admin configures: no CR/LF/NUL (they would split the request).
_HEADER_VALUE = r"^[^\r\n\x00]*$"


class RestToolConfig(_Model):
    """One hand-written REST tool: a request template filled from the tool's arguments."""

    name: ToolName
    description: str = ""
    method: Literal["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] = "GET"
    path: Annotated[str, StringConstraints(pattern=r"^/")]  # relative to base_url; {arg} fills one path segment
    parameters: dict[str, Any] = Field(default_factory=lambda: {"type": "object", "properties": {}})  # JSON Schema
    query: tuple[str, ...] = ()  # arguments sent as query parameters
    headers: dict[HeaderName, str] = Field(default_factory=dict)  # request header name -> argument
    body: Any = None  # JSON template; {"$arg": "name"} is replaced by that argument's value
    response: Annotated[str, StringConstraints(pattern=r"^(/.*)?$")] = ""  # JSON pointer into the response

    @model_validator(mode="after")
    def _arguments_exist(self) -> RestToolConfig:
        properties = self.parameters.get("properties")
        known = set(properties) if isinstance(properties, dict) else set()
        used = [*re.findall(r"\{([^{}]+)\}", self.path), *self.query, *self.headers.values()]
        for arg in used:
            if arg not in known:
                raise ValueError(f"tool {self.name!r}: argument {arg!r} is not in parameters.properties")
        return self


class OpenApiConfig(_Model):
    """Import tools from an OpenAPI 3.0/3.1 document; the filters pick operations (globs)."""

    source: str  # http(s) URL, or a file path
    tags: tuple[str, ...] = ()  # keep operations with one of these tags (empty: all)
    exclude_tags: tuple[str, ...] = ()
    paths: tuple[str, ...] = ("*",)
    exclude_paths: tuple[str, ...] = ()
    operations: tuple[str, ...] = ("*",)  # operationId (or the generated tool name)
    exclude_operations: tuple[str, ...] = ()


class RestUpstreamConfig(_UpstreamBase):
    """A REST service: tools from an OpenAPI document and/or hand-written tools, on a base URL the admin fixes."""

    kind: Literal["rest"]
    base_url: Annotated[str, StringConstraints(pattern=r"^https?://[^/?#]+")] | None = None  # default: servers[0]
    openapi: OpenApiConfig | None = None
    tools: tuple[RestToolConfig, ...] = ()
    headers: dict[HeaderName, SecretStr] = Field(default_factory=dict)  # sent with every request
    auth: UpstreamAuthConfig | None = None  # sent only to the base URL's origin (the vault's `auth:` kinds)
    allowed_hosts: tuple[str, ...] = ()  # hosts the base URL, the document URL and redirects may name
    retries: Annotated[int, Field(ge=0, le=5)] = 2  # for GET/HEAD/PUT/DELETE/OPTIONS, on connection failures, 502-504
    retry_backoff_s: PositiveFloat = 0.2
    max_response_bytes: PositiveInt = 1024 * 1024
    spec_retry_backoff_max_s: PositiveFloat = 30.0

    @model_validator(mode="after")
    def _has_tools_and_a_base(self) -> RestUpstreamConfig:
        if self.openapi is None and not self.tools:
            raise ValueError("give 'openapi', 'tools', or both")
        if self.base_url is None and self.tools:
            raise ValueError("hand-written tools need 'base_url'")
        for where, value in {f"headers.{name}": value for name, value in self.headers.items()}.items():
            if not re.match(_HEADER_VALUE, value.get_secret_value()):
                raise ValueError(f"{where}: a header value cannot contain CR, LF or NUL")
        return self


class SqlToolConfig(_Model):
    """A named query an admin defines: arguments reach the database only as bound `:name` parameters."""

    name: ToolName
    description: str = ""
    sql: str
    parameters: dict[str, Any] = Field(default_factory=lambda: {"type": "object", "properties": {}})  # JSON Schema
    read_only: bool = True  # run in a read-only transaction; false for a tool that writes (then committed)
    max_rows: PositiveInt | None = None  # default: the upstream's max_rows

    @model_validator(mode="after")
    def _parameters_declared(self) -> SqlToolConfig:
        # Imported here, not at the top: only configs with SQL tools pay for it, and the
        # `hub stdio --url` bridge, which loads this module, starts faster without it.
        from jsonschema import Draft202012Validator, SchemaError

        try:
            Draft202012Validator.check_schema(self.parameters)
        except SchemaError as exc:
            raise ValueError(f"parameters: not a valid JSON Schema: {exc.message}") from None
        if self.parameters.get("type") != "object":
            raise ValueError("parameters: the schema must have type: object")
        declared = set(self.parameters.get("properties", {}))
        missing = sorted(set(_SQL_BIND.findall(self.sql)) - declared)
        if missing:
            raise ValueError(f"sql: parameter(s) {', '.join(missing)} are not declared in parameters.properties")
        return self


# A `:name` bind parameter as SQLAlchemy's text() reads one (`::` casts and `\:` are not parameters).
_SQL_BIND = re.compile(r"(?<![:\w\\]):(\w+)(?!:)")
# The database family a SQLAlchemy URL names: `postgresql`, or `postgresql` in `postgresql+psycopg`.
_URL_FAMILY = re.compile(r"^([A-Za-z][A-Za-z0-9]*)(?:\+[A-Za-z0-9_]+)?://")


SqlGenericTool = Literal["list_tables", "describe_table", "query"]


class SqlUpstreamConfig(_UpstreamBase):
    """A database (any SQLAlchemy URL) whose tools are named queries and, optionally, generic ones."""

    kind: Literal["sql"]
    url: SecretStr  # may carry a password; a URL without a driver gets the hub's async one
    tools: tuple[SqlToolConfig, ...] = ()
    generic_tools: tuple[SqlGenericTool, ...] = ()
    max_rows: PositiveInt = 1000
    statement_timeout_s: PositiveFloat = 10.0
    pool_size: PositiveInt = 5
    max_overflow: Annotated[int, Field(ge=0)] = 5
    pool_timeout_s: PositiveFloat = 10.0
    pool_pre_ping: bool = True
    health_interval_s: PositiveFloat = 30.0

    @model_validator(mode="after")
    def _url_and_names(self) -> SqlUpstreamConfig:
        family_match = _URL_FAMILY.match(self.url.get_secret_value())
        if family_match is None:
            raise ValueError("url: not a SQLAlchemy database URL (e.g. postgresql://user@host/db)")
        family = family_match.group(1)
        if family not in ("sqlite", "postgresql", "mysql", "mariadb"):
            raise ValueError(
                f"url: databases of kind {family!r} are not supported (sqlite, postgresql, mysql, mariadb)"
            )
        _unique("tools", [t.name for t in self.tools] + list(dict.fromkeys(self.generic_tools)))
        return self


UpstreamConfig = Annotated[
    StdioUpstreamConfig | SseUpstreamConfig | StreamableHttpUpstreamConfig | RestUpstreamConfig | SqlUpstreamConfig,
    Field(discriminator="kind"),
]


# --- virtual servers ---------------------------------------------------------------------------


class SelectionConfig(_Model):
    """What one upstream contributes to a virtual server. Globs match upstream names (URIs for resources)."""

    upstream: Name
    tools: tuple[str, ...] = ("*",)
    exclude_tools: tuple[str, ...] = ()
    resources: tuple[str, ...] = ("*",)
    exclude_resources: tuple[str, ...] = ()
    prompts: tuple[str, ...] = ("*",)
    exclude_prompts: tuple[str, ...] = ()
    rename: dict[str, ToolName] = Field(default_factory=dict)
    descriptions: dict[str, str] = Field(default_factory=dict)


class VirtualServerConfig(_Model):
    name: Name
    description: str = ""
    prefix: Literal["always", "on_collision", "never"] = "on_collision"
    separator: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_./-]{1,4}$")] = "__"
    include: tuple[SelectionConfig, ...] = ()
    sampling_model: str | None = None  # answer upstreams' sampling requests with this model group (docs/llm.md)

    @model_validator(mode="after")
    def _renames_do_not_clash(self) -> VirtualServerConfig:
        """Two items renamed to one exposed name can only be told apart by a prefix; say so early."""
        claimed: dict[str, tuple[int, str, str]] = {}
        for j, sel in enumerate(self.include):
            for original, target in sel.rename.items():
                exposed = f"{sel.upstream}{self.separator}{target}" if self.prefix == "always" else target
                other = claimed.get(exposed)
                clash = other is not None and (self.prefix != "on_collision" or other[1] == sel.upstream)
                if clash and other is not None:
                    raise ValueError(
                        f"include[{j}].rename: {other[1]}:{other[2]} and {sel.upstream}:{original} are both"
                        f" exposed as {exposed!r}; rename one of them"
                    )
                claimed[exposed] = (j, sel.upstream, original)
        return self


# --- agents ------------------------------------------------------------------------------------


class AgentKeyConfig(_Model):
    """A key given as plaintext (best as ${env:..}/${file:..}) or as its stored hash."""

    key: SecretStr | None = None
    sha256: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")] | None = None
    expires_at: AwareDatetime | None = None  # ISO 8601 with a time zone, e.g. 2027-01-01T00:00:00Z

    @model_validator(mode="after")
    def _one_of(self) -> AgentKeyConfig:
        if (self.key is None) == (self.sha256 is None):
            raise ValueError("give exactly one of 'key' or 'sha256'")
        return self


class GrantConfig(_Model):
    server: Name
    tools: tuple[str, ...] | None = None  # allow-list of exposed tool names (globs); None = all


class TeamConfig(_Model):
    """A group of agents sharing grants (and team rate-limit budgets); tokens may name it via `oauth.team_claim`."""

    name: Name
    description: str = ""
    servers: tuple[GrantConfig, ...] = ()
    models: tuple[str, ...] = ()  # model groups (names or globs) its agents may call through the LLM API


class AgentConfig(_Model):
    name: Name
    team: Name | None = None  # a team of `teams:`; the agent also holds the team's grants
    keys: tuple[AgentKeyConfig, ...] = ()
    servers: tuple[GrantConfig, ...] = ()
    models: tuple[str, ...] = ()  # model groups (names or globs) it may call; none unless granted


# --- limits ------------------------------------------------------------------------------------


class LimitConfig(_Model):
    """One rate-limit rule. Globs pick the calls it covers; `per` and `scope` say whose budget they share."""

    name: Name
    agents: tuple[str, ...] = ("*",)
    servers: tuple[str, ...] = ("*",)
    tools: tuple[str, ...] = ("*",)  # exposed tool names ("" for calls that are not tools/call)
    per: Literal["agent", "team"] = "agent"
    scope: Literal["all", "server", "tool"] = "all"
    requests_per_minute: PositiveInt | None = None
    concurrent_calls: PositiveInt | None = None

    @model_validator(mode="after")
    def _limits_something(self) -> LimitConfig:
        if self.requests_per_minute is None and self.concurrent_calls is None:
            raise ValueError("set requests_per_minute, concurrent_calls, or both")
        return self


# --- credential vault ---------------------------------------------------------------------------


class VaultConfig(_Model):
    """The keys that encrypt upstream credentials (every SecretStr of the catalog) in the database.

    Without `key` and `key_file`, a key file `vault.key` is made beside a SQLite database on first start.
    """

    key: SecretStr | None = None  # from `hub vault keygen`; best as ${env:HUB_VAULT_KEY}
    key_file: Path | None = None  # a file holding the key; created (mode 0600) if missing
    previous_keys: tuple[SecretStr, ...] = ()  # still decrypt, until `hub vault rotate` has re-encrypted all

    @model_validator(mode="after")
    def _one_source(self) -> VaultConfig:
        if self.key is not None and self.key_file is not None:
            raise ValueError("give 'key' or 'key_file', not both")
        for i, key in enumerate((self.key, *self.previous_keys)):
            if key is not None and not is_vault_key(key.get_secret_value()):
                where = "key" if i == 0 and self.key is not None else f"previous_keys[{i - (self.key is not None)}]"
                raise ValueError(
                    f"{where}: not a vault key (44 characters of URL-safe base64); make one with `hub vault keygen`"
                )
        return self


def is_vault_key(text: str) -> bool:
    """A Fernet key: 32 bytes in URL-safe base64."""
    try:
        return len(base64.urlsafe_b64decode(text.encode("ascii"))) == 32 and len(text) == 44
    except (ValueError, UnicodeEncodeError):
        return False


# --- root --------------------------------------------------------------------------------------


class HubConfig(_Model):
    server: ServerConfig = ServerConfig()
    storage: StorageConfig = StorageConfig()
    observability: ObservabilityConfig = ObservabilityConfig()
    oauth: OAuthConfig | None = None
    upstreams: tuple[UpstreamConfig, ...] = ()
    virtual_servers: tuple[VirtualServerConfig, ...] = ()
    teams: tuple[TeamConfig, ...] = ()
    agents: tuple[AgentConfig, ...] = ()
    limits: tuple[LimitConfig, ...] = ()
    audit: AuditConfig = AuditConfig()
    vault: VaultConfig = VaultConfig()
    models: tuple[ModelGroupConfig, ...] = ()  # LLM model groups (hub/config/llm.py)
    llm: LlmConfig = LlmConfig()

    @model_validator(mode="after")
    def _cross_references(self) -> HubConfig:
        vault_keyless = self.vault.key is None and self.vault.key_file is None
        if vault_keyless and not self.storage.url.startswith("sqlite"):
            raise ValueError(
                "vault: set key (or key_file): every replica sharing this database needs the same key;"
                " make one with `hub vault keygen`"
            )
        if self.oauth is not None and self.oauth.audience is None and self.server.public_url is None:
            raise ValueError("oauth.audience: set it (the hub's resource URL), or server.public_url")
        _unique("upstreams", [u.name for u in self.upstreams])
        _unique("virtual_servers", [v.name for v in self.virtual_servers])
        _unique("teams", [t.name for t in self.teams])
        _unique("agents", [a.name for a in self.agents])
        _unique("limits", [rule.name for rule in self.limits])
        check_llm_references(self.models, self.llm)
        _model_grants_defined(self)
        if self.llm.cache is not None and self.llm.cache.backend == "redis" and self.storage.redis_url is None:
            raise ValueError("llm.cache.backend: 'redis' needs storage.redis_url")
        groups = {g.name for g in self.models}
        for i, vs in enumerate(self.virtual_servers):
            if vs.sampling_model is not None and vs.sampling_model not in groups:
                raise ValueError(
                    f"virtual_servers[{i}].sampling_model: model group {vs.sampling_model!r} is not defined"
                )
        upstreams = {u.name for u in self.upstreams}
        for i, vs in enumerate(self.virtual_servers):
            for j, sel in enumerate(vs.include):
                if sel.upstream not in upstreams:
                    raise ValueError(f"virtual_servers[{i}].include[{j}]: upstream {sel.upstream!r} is not defined")
        servers = {v.name for v in self.virtual_servers}
        grants = [("teams", i, t.servers) for i, t in enumerate(self.teams)]
        grants += [("agents", i, a.servers) for i, a in enumerate(self.agents)]
        for section, i, held in grants:
            for j, grant in enumerate(held):
                if grant.server not in servers:
                    raise ValueError(f"{section}[{i}].servers[{j}]: virtual server {grant.server!r} is not defined")
        teams = {t.name for t in self.teams}
        for i, agent in enumerate(self.agents):
            if agent.team is not None and agent.team not in teams:
                raise ValueError(f"agents[{i}].team: team {agent.team!r} is not defined (add it under teams:)")
        return self


def _unique(section: str, names: list[str]) -> None:
    seen: set[str] = set()
    for i, name in enumerate(names):
        if name in seen:
            raise ValueError(f"{section}[{i}]: name {name!r} is used twice")
        seen.add(name)


def _model_grants_defined(config: HubConfig) -> None:
    """A model grant without glob characters names a model group, an experiment's model or a rule's model."""
    known = {g.name for g in config.models} | {e.model for e in config.llm.experiments}
    known |= {r.model for r in config.llm.rules}
    held = [("teams", i, t.models) for i, t in enumerate(config.teams)]
    held += [("agents", i, a.models) for i, a in enumerate(config.agents)]
    for section, i, models in held:
        for j, name in enumerate(models):
            if not any(c in name for c in "*?[") and name not in known:
                raise ValueError(f"{section}[{i}].models[{j}]: model group {name!r} is not defined")
