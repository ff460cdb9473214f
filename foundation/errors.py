"""One exception family for every refusal, mapped to HTTP and to form errors in one place."""


class GongshuError(Exception):
    """A refusal with a stable machine code, a human message (zh-Hans) and the field at fault."""

    code = "error"
    status = 400
    headers: dict[str, str] = {}  # extra response headers (e.g. Retry-After), set by the API's one handler
    audited = False  # set once the refusal is on the audit chain (audit.services.record_refusal)

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        if code:
            self.code = code

    def as_dict(self) -> dict:
        return {"code": self.code, "message": self.message, "field": self.field}


class ValidationFailed(GongshuError):
    code = "invalid"
    status = 422

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None, errors: dict | None = None):
        super().__init__(message, field=field, code=code)
        # field -> [messages], for forms that show every problem at once
        self.errors = errors or ({field or "__all__": [message]})


class NotAuthenticated(GongshuError):
    code = "not_authenticated"
    status = 401


class PermissionDenied(GongshuError):
    code = "forbidden"
    status = 403


class NotFound(GongshuError):
    code = "not_found"
    status = 404


class Conflict(GongshuError):
    code = "conflict"
    status = 409


class TooManyRequests(GongshuError):
    """A rate limit or a quota is used up: try again after ``retry_after`` seconds (429 + Retry-After)."""

    code = "rate_limited"
    status = 429

    def __init__(self, message: str, *, retry_after: int, field: str | None = None, code: str | None = None):
        super().__init__(message, field=field, code=code)
        self.retry_after = max(1, int(retry_after))
        self.headers = {"Retry-After": str(self.retry_after)}


class DeadlinePassed(GongshuError):
    code = "deadline_passed"
    status = 409


def refuse_if(errors: dict[str, list[str]]) -> None:
    """Refuse with every problem at once (field -> messages); the first one is the headline."""
    if errors:
        field, messages = next(iter(errors.items()))
        raise ValidationFailed(messages[0], field=field, errors=errors)
