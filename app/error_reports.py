"""Opt-in error reporting: with SENTRY_DSN set, unhandled errors and slow requests go to Sentry.

Without it sentry_sdk is never imported, so it costs nothing at start-up. What is sent carries the request id
(as the tag `request_id`) and no personal data: no bodies, cookies, credentials, addresses or emails.
"""

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from app.config import Settings

if TYPE_CHECKING:
    from sentry_sdk.types import Event, Hint

# Keys whose values Sentry's scrubber replaces wherever they appear in an event (headers, extra data, breadcrumbs).
PERSONAL_KEYS = ["email", "username", "full_name", "password", "new_password", "current_password", "refresh_token"]
REQUEST_ID_TAG = "request_id"


def _without_personal_data(event: "Event", hint: "Hint") -> "Event | None":
    request = event.get("request")
    if request:
        # A body (a note, a password, an email) and the cookies are the client's; the query may name an account.
        for part in ("data", "cookies", "query_string"):
            request.pop(part, None)
    return event


def _moment(value: object) -> datetime | None:
    # Typed as datetimes, but the SDK has already written them as ISO 8601 text when it calls this hook.
    if isinstance(value, str):
        return datetime.fromisoformat(value)
    return value if isinstance(value, datetime) else None


def slower_than(threshold_ms: int) -> "Callable[[Event, Hint], Event | None]":
    """Keeps a transaction (a timed request) only when it took at least `threshold_ms`."""

    def keep_if_slow(event: "Event", hint: "Hint") -> "Event | None":
        started, ended = _moment(event.get("start_timestamp")), _moment(event.get("timestamp"))
        if started is not None and ended is not None and (ended - started).total_seconds() * 1000 < threshold_ms:
            return None
        return _without_personal_data(event, hint)

    return keep_if_slow


def start_error_reports(settings: Settings) -> Callable[[str], None] | None:
    """Set Sentry up when SENTRY_DSN is set; returns what tags the current request's reports with its id."""
    if not settings.sentry_dsn:
        return None
    import sentry_sdk
    from sentry_sdk.scrubber import DEFAULT_DENYLIST, EventScrubber

    sentry_sdk.init(
        dsn=settings.sentry_dsn,
        environment=settings.env,
        send_default_pii=False,
        # Request bodies hold passwords, emails and notes; local variables can hold the same.
        max_request_body_size="never",
        include_local_variables=False,
        event_scrubber=EventScrubber(denylist=[*DEFAULT_DENYLIST, *PERSONAL_KEYS], recursive=True),
        traces_sample_rate=settings.sentry_traces_sample_rate,
        before_send=_without_personal_data,
        before_send_transaction=slower_than(settings.sentry_slow_request_ms),
    )

    def tag_request(request_id: str) -> None:
        sentry_sdk.get_isolation_scope().set_tag(REQUEST_ID_TAG, request_id)

    return tag_request
