"""What the database and its driver raise, as short messages an agent can read and nothing secret in them.

    HubError
    ├── DatabaseUnreachableError  no connection could be had (down, refused, auth failed, pool exhausted)
    └── StatementFailedError      the statement ran and the database refused or cancelled it

Both become tool results with isError: true; neither leaves the connector as an exception.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from hub.errors import HubError

_MAX_MESSAGE = 300


class DatabaseUnreachableError(HubError):
    """No connection to the database; the upstream is down until a health check or call succeeds."""


class StatementFailedError(HubError):
    """The database refused or cancelled the statement (syntax, permissions, read-only, timeout)."""


@contextmanager
def connecting(upstream: str, secrets: Sequence[str]) -> Iterator[None]:
    """Failures while getting a connection from the pool mean the database cannot be reached."""
    try:
        yield
    except PoolTimeoutError as exc:
        raise DatabaseUnreachableError(
            f"database {upstream!r} is busy: no pooled connection became free in time; try again shortly"
        ) from exc
    except (SQLAlchemyError, OSError) as exc:
        raise DatabaseUnreachableError(
            f"database {upstream!r} is unreachable: {trimmed(exc, secrets)}; try again later"
        ) from exc


@contextmanager
def executing(upstream: str, secrets: Sequence[str]) -> Iterator[None]:
    """Failures while a statement runs: the database's own message, or unreachable if the connection died."""
    try:
        yield
    except DBAPIError as exc:
        if exc.connection_invalidated:
            raise DatabaseUnreachableError(
                f"database {upstream!r} closed the connection: {trimmed(exc, secrets)}"
            ) from exc
        raise StatementFailedError(f"database error: {trimmed(exc, secrets)}") from exc
    except (SQLAlchemyError, OSError) as exc:
        raise StatementFailedError(f"database error: {trimmed(exc, secrets)}") from exc


def trimmed(exc: BaseException, secrets: Sequence[str]) -> str:
    """The driver's own message (not SQLAlchemy's, which quotes the SQL and its parameters), one line, no secrets."""
    orig = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    args: tuple[object, ...] = tuple(getattr(orig, "args", ()))
    # PyMySQL-style drivers carry (code, message); others a message.
    if len(args) == 2 and isinstance(args[0], int) and isinstance(args[1], str):
        text = f"({args[0]}) {args[1]}"
    else:
        text = str(orig) or type(orig).__name__
    for secret in secrets:
        text = text.replace(secret, "***")
    line = " ".join(text.split())
    return line if len(line) <= _MAX_MESSAGE else line[: _MAX_MESSAGE - 1] + "…"
