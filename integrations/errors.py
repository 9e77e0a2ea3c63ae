"""The one error type every vendor client raises."""

from __future__ import annotations


class IntegrationError(Exception):
    """A vendor call failed.

    ``permanent`` says whether retrying can help: a bad key, a 404 or a malformed answer is
    permanent; a timeout, a 429 or a 5xx is not. ``retry_after`` (seconds) is set when the vendor
    told us how long to wait; ``status`` is the HTTP status when the vendor answered at all.
    """

    def __init__(
        self,
        message: str,
        *,
        permanent: bool,
        retry_after: float | None = None,
        code: str = "",
        status: int | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.retry_after = retry_after
        self.code = code
        self.status = status  # the vendor's HTTP status when it answered with one

    def __str__(self) -> str:
        kind = "permanent" if self.permanent else "transient"
        return f"{self.message} ({kind})"


class FeatureDisabled(IntegrationError):
    """The vendor's key is not set (APIFY_API_TOKEN, YOUTUBE_API_KEY, ...): the feature is off."""

    def __init__(self, message: str):
        super().__init__(message, permanent=True, code="disabled")
