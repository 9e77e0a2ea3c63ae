"""The one refusal every submission surface (bot API, slash command, dashboard) turns into a message."""

from __future__ import annotations


class SubmissionRefused(ValueError):
    """A submission we refuse, and nothing was written.

    ``code`` is stable and machine-readable (``invalid_url``/the URL parser's code, ``no_verified_profile``,
    ``not_your_handle``, ``duplicate``, ``client_account_not_found``, ``client_account_inactive``,
    ``screenshot_too_large``, ``screenshot_not_an_image``, ...); ``message`` is meant for the creator;
    ``field`` names the input at fault (for the REST API's ``fields``), when there is one.
    """

    def __init__(self, code: str, message: str, *, field: str = ""):
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field

    @property
    def fields(self) -> dict[str, list[str]]:
        return {self.field: [self.message]} if self.field else {}
