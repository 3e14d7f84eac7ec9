"""litellm's exceptions → HubErrors, where they enter the hub. Provider messages are kept short and key-free."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from litellm import exceptions as exc_
from litellm.types.router import RouterRateLimitError, RouterRateLimitErrorBasic

from hub.errors import (
    HubError,
    InvalidParamsError,
    LimitExceededError,
    UpstreamError,
    UpstreamTimeoutError,
    UpstreamUnavailableError,
)

_PREFIX = re.compile(r"^(litellm\.\w+:\s*)+(\w+Exception - )?")
_KEYISH = re.compile(r"(sk-|key[=:]\s*)[A-Za-z0-9_\-]{6,}", re.IGNORECASE)


def _clean(message: str) -> str:
    text = _KEYISH.sub(r"\1***", _PREFIX.sub("", message.strip()))
    return text[:500]


def _retry_after(exc: BaseException, default: float) -> float:
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if headers is not None:
        value = headers.get("retry-after")
        if value is not None:
            try:
                return max(0.0, float(value))
            except ValueError:
                pass
    return default


@contextmanager
def provider_failures(group: str, cooldown_s: float) -> Iterator[None]:
    """Translate what litellm raises while routing `group` into the hub's errors."""
    try:
        yield
    except HubError:
        raise
    except (RouterRateLimitError, RouterRateLimitErrorBasic) as exc:
        raise LimitExceededError(
            f"model {group!r}: every deployment is cooling down after failures or provider rate limits;"
            f" retry in {cooldown_s:g} s",
            retry_after_s=cooldown_s,
        ) from exc
    except exc_.RateLimitError as exc:
        wait = _retry_after(exc, cooldown_s)
        raise LimitExceededError(
            f"model {group!r}: the provider's rate limit was reached; retry in {wait:g} s", retry_after_s=wait
        ) from exc
    except exc_.Timeout as exc:
        raise UpstreamTimeoutError(f"model {group!r}: the provider did not answer in time") from exc
    except exc_.ContextWindowExceededError as exc:
        raise InvalidParamsError(
            f"model {group!r}: the prompt does not fit the context window: {_clean(str(exc))}"
        ) from exc
    except exc_.BadRequestError as exc:
        raise InvalidParamsError(f"model {group!r}: the provider refused the request: {_clean(str(exc))}") from exc
    except exc_.AuthenticationError as exc:
        raise UpstreamError(f"model {group!r}: the provider refused the hub's credential") from exc
    except (exc_.APIConnectionError, exc_.ServiceUnavailableError, exc_.InternalServerError) as exc:
        raise UpstreamUnavailableError(f"model {group!r}: the provider is unavailable: {_clean(str(exc))}") from exc
    except exc_.APIError as exc:
        raise UpstreamError(f"model {group!r}: the provider failed: {_clean(str(exc))}") from exc
    except ValueError as exc:
        text = str(exc)
        if "no deployments" in text.lower() or "tag" in text.lower():
            raise UpstreamUnavailableError(f"model {group!r}: no deployment can serve this request now") from exc
        raise
