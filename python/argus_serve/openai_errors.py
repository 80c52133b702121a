"""The ingress's own answers, as OpenAI error JSON: ``{"error": {"message", "type", "code"}}``.

They are returned as ready-made JSONResponses by the route methods, never raised into FastAPI:
Ray's exception middleware rewrites what reaches it (its ``type`` becomes the exception's class
name, e.g. OpenAIHTTPException, and ``code`` the HTTP status), and clients key on ``code``.
"""
import re
from typing import Callable, Dict, Iterable, Optional

from starlette.responses import JSONResponse

# Seconds a client should wait before retrying a model that is starting.
RETRY_AFTER_S = 5
SUMMARY_LIMIT = 300

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
# "RuntimeError: boom", "ray.exceptions.RayTaskError(ValueError): ...", "ModuleNotFoundError: ..."
_ERROR_LINE = re.compile(r"^\s*[A-Za-z_][\w.]*(Error|Exception)(\([\w.]*\))?:\s*\S")


class ArgusHTTPError(Exception):
    """An answer the ingress gives itself; ``response()`` renders it."""

    def __init__(
        self,
        status_code: int,
        error_type: str,
        code: str,
        message: str,
        headers: Optional[Dict[str, str]] = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.error_type = error_type
        self.code = code
        self.message = message
        self.headers = dict(headers or {})

    def body(self) -> Dict[str, Dict[str, str]]:
        return {"error": {"message": self.message, "type": self.error_type, "code": self.code}}

    def response(self) -> JSONResponse:
        return JSONResponse(self.body(), status_code=self.status_code, headers=self.headers)

    def rewritten(self, rewrite: Callable[[str], str]) -> "ArgusHTTPError":
        """The same answer with its message passed through ``rewrite``."""
        return ArgusHTTPError(self.status_code, self.error_type, self.code, rewrite(self.message), self.headers)


def summarize_failure(message: str, limit: int = SUMMARY_LIMIT) -> str:
    """The root-cause line of a Ray status message: the last ``XxxError: ...`` line of its
    traceback (Ray nests tracebacks, the innermost error is last), ANSI colours stripped, at most
    ``limit`` characters. Falls back to the last non-empty line."""
    lines = [line.strip() for line in _ANSI.sub("", message or "").splitlines()]
    lines = [line for line in lines if line]
    if not lines:
        return ""
    errors = [line for line in lines if _ERROR_LINE.match(line)]
    summary = errors[-1] if errors else lines[-1]
    if len(summary) > limit:
        summary = summary[: limit - 3].rstrip() + "..."
    return summary


def _subject(model_id: str, app_name: Optional[str]) -> str:
    # A candidate probe names the revision app it asked for, so the control plane sees which one.
    return f"model {model_id}" if app_name is None else f"model {model_id} (revision app {app_name})"


def model_not_found(model_id: Optional[str]) -> ArgusHTTPError:
    return ArgusHTTPError(
        404,
        "NotFoundError",
        "model_not_found",
        f"The model {model_id!r} is not served here. GET /v1/models lists the models that are.",
    )


def revision_not_found(model_id: str, app_name: str, known: Iterable[str]) -> ArgusHTTPError:
    return ArgusHTTPError(
        404,
        "NotFoundError",
        "revision_not_found",
        f"No revision app {app_name!r} serves model {model_id}; "
        f"the routed and candidate apps are: {', '.join(known)}.",
    )


def model_failed(
    model_id: str, detail: str, ray_message: str, app_name: Optional[str] = None
) -> ArgusHTTPError:
    cause = summarize_failure(ray_message) or "Ray gave no error message"
    return ArgusHTTPError(
        503,
        "ServiceUnavailableError",
        "model_failed",
        f"{_subject(model_id, app_name)} failed to start ({detail}): {cause}",
    )


def model_starting(
    model_id: str, detail: str, ray_message: str = "", app_name: Optional[str] = None
) -> ArgusHTTPError:
    # While Ray retries a failing replica it says so in the message; show the error already.
    cause = summarize_failure(ray_message) if _has_error_line(ray_message) else ""
    last_error = f"; last error: {cause}" if cause else ""
    return ArgusHTTPError(
        503,
        "ServiceUnavailableError",
        "model_starting",
        f"{_subject(model_id, app_name)} is starting ({detail}{last_error}); retry in a few seconds",
        headers={"Retry-After": str(RETRY_AFTER_S)},
    )


def engine_unavailable(model_id: str, upstream_message: str, app_name: Optional[str] = None) -> ArgusHTTPError:
    """The model's replica answered with a server error: its engine died or is dying. Serve's
    health check replaces such a replica within seconds; until then this says so instead of a
    bare 500."""
    cause = summarize_failure(upstream_message) or "no message"
    return ArgusHTTPError(
        503,
        "ServiceUnavailableError",
        "engine_unavailable",
        f"{_subject(model_id, app_name)} could not answer: its engine failed ({cause}); "
        "its replica is being checked and replaced, retry in a few seconds",
        headers={"Retry-After": str(RETRY_AFTER_S)},
    )


def model_removed(model_id: str, app_name: Optional[str] = None) -> ArgusHTTPError:
    return ArgusHTTPError(
        503,
        "ServiceUnavailableError",
        "model_removed",
        f"{_subject(model_id, app_name)} was removed while this request waited for it; "
        "GET /v1/models lists the models served now",
    )


def _has_error_line(message: str) -> bool:
    return any(_ERROR_LINE.match(line) for line in _ANSI.sub("", message or "").splitlines())
