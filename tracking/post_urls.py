"""Understanding the post links people paste, and the handles creators type.

``parse_post_url`` turns whatever a person pastes (with or without scheme or ``www``, mobile and
regional hosts, tracking query strings, trailing slashes, Discord's ``<...>`` wrapping) into
``ParsedPostUrl(platform, external_id, canonical_url, needs_resolution, handle)``, or raises
``PostUrlError`` whose message says what was expected.

This module does everything that is the same on every platform; the registered platforms'
``PlatformSpec``s (tracking/platforms/) say which hosts are theirs and read the path of their own
links. Hosts are matched against the specs' exact allow-lists: look-alikes (Unicode homographs,
punycode, ``tiktok.com.evil.example``, ``eviltiktok.com``), credentials, non-web schemes and odd ports
are refused before any path is read, so nothing downstream ever fetches an address we did not
recognise.

``needs_resolution`` means the first scrape decides the post id: short links (``vm.tiktok.com``,
``fb.watch``, ``instagram.com/share/...``) carry no id at all (``external_id`` is None), and Facebook
post links carry an id Facebook's scrapers do not report back as ``postId`` (they are kept as a
provisional id so that the same link pasted twice is still caught as a duplicate).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import SplitResult, parse_qs, unquote, urlsplit

from core.values import a_or_an
from tracking.platforms import registry
from tracking.platforms.links import Link, NotAPost, NotAProfile, ProfilePage
from tracking.platforms.spec import PlatformSpec

MAX_URL_LENGTH = 2048


@dataclass(frozen=True)
class ParsedPostUrl:
    """A recognised post link.

    ``platform`` is the platform's registry key ("tiktok", ...). ``external_id`` is the platform's post
    id (TikTok/X numeric id, Instagram shortcode, YouTube 11-character id, Facebook video id or post
    id); None for short links. ``handle`` is the account name written in the link (lower-cased), None
    when the link does not name one.
    """

    platform: str
    external_id: str | None
    canonical_url: str
    needs_resolution: bool
    handle: str | None = None


class PostUrlError(ValueError):
    """A pasted link we refuse. ``message`` is meant for the person who pasted it.

    ``code`` is a stable machine-readable reason (``profile_page``, ``not_a_post``, ``unknown_site``,
    ``lookalike_host``, ``credentials``, ``scheme``, ``port``, ``too_long``, ``malformed``, ``empty``);
    ``platform`` (a registry key) is set when the link was recognisably from one platform.
    """

    def __init__(self, message: str, *, code: str, platform: str | None = None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.platform = platform


class HandleError(ValueError):
    """A handle (or profile link) a creator typed that we refuse; ``message`` says what was expected."""

    def __init__(self, message: str, *, code: str):
        super().__init__(message)
        self.message = message
        self.code = code


# Schemes that are never a web link; refused by name so "mailto:a@b" is not mistaken for user:pass@host.
_NON_WEB_SCHEMES = {
    "javascript",
    "data",
    "vbscript",
    "file",
    "ftp",
    "ftps",
    "sftp",
    "mailto",
    "tel",
    "sms",
    "blob",
    "about",
    "chrome",
    "intent",
    "ws",
    "wss",
    "gopher",
    "ssh",
    "irc",
}
_DEFAULT_PORTS = {"http": 80, "https": 443}
_SCHEME_PREFIX = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")
_HOST_CHARS = re.compile(r"[a-z0-9.-]+")


# --- the public functions ----------------------------------------------------------------------


def parse_post_url(raw: str) -> ParsedPostUrl:
    """Recognise a pasted post link.

    Returns the platform, the platform's post id and a canonical https URL. Raises ``PostUrlError``
    (with a message a person can act on) for anything that is not a post on a supported platform.
    Pure: no network, no database.
    """
    link = _split_link(raw)
    spec = _spec_for_host(link.host)
    try:
        post = spec.parse_post(link)
    except NotAPost as reason:
        raise _not_a_post_error(spec, reason.subject) from None
    except ProfilePage:
        raise _profile_error(spec) from None
    return ParsedPostUrl(
        platform=spec.key,
        external_id=post.external_id,
        canonical_url=post.canonical_url,
        needs_resolution=post.needs_resolution,
        handle=post.handle,
    )


def parse_profile_handle(platform: str, raw: str) -> str:
    """Normalise the handle a creator typed for ``platform``: ``@Name``, ``name`` or a profile link.

    Returns the handle without ``@``, lower-cased (every supported platform treats handles
    case-insensitively); for Facebook a numeric profile id is returned when the link only has one.
    Raises ``HandleError`` naming the allowed form, and UnknownPlatform (tracking.platforms.registry)
    when ``platform`` is not a registered platform.
    """
    spec = registry.get(platform)
    text = (raw or "").strip().strip("<>").strip()
    if not text:
        raise HandleError(f"Type your {spec.label} handle, like @yourname.", code="empty")
    if "/" in text:
        return _handle_from_profile_link(spec, text)
    return _validate_handle(spec, text.removeprefix("@"))


# --- what the registered platforms have in common, in words ---------------------------------------


def _supported() -> str:
    """ "TikTok, Instagram, YouTube, X or Facebook"."""
    *others, last = [spec.label for spec in registry.all_specs()]
    return f"{', '.join(others)} or {last}" if others else last


def _any_example() -> str:
    """The example links shown when we cannot tell which platform the person meant."""
    return " or ".join(spec.example_url for spec in registry.all_specs() if spec.in_generic_examples)


# --- splitting and checking the link itself ----------------------------------------------------


def _split_link(raw: str) -> Link:
    """Check everything about a link that is not platform-specific, and split it."""
    text = _trim(raw)
    parts = _urlsplit(_with_scheme(text))
    if parts.scheme.lower() not in _DEFAULT_PORTS:
        raise _scheme_error()
    _check_authority(parts)
    return Link(host=_checked_host(parts.hostname), segments=_segments(parts.path), query=parse_qs(parts.query))


def _trim(raw: str) -> str:
    text = (raw or "").strip()
    if len(text) > MAX_URL_LENGTH:
        raise PostUrlError(
            f"That link is {len(text)} characters long; post links are far shorter (at most "
            f"{MAX_URL_LENGTH}). Paste only the link of the post, like {_any_example()}.",
            code="too_long",
        )
    if text.startswith("<") and text.endswith(">"):  # Discord's "no embed" wrapping
        text = text[1:-1].strip()
    if not text:
        raise PostUrlError(f"Paste the link of a post, like {_any_example()}.", code="empty")
    if any(ch.isspace() or not ch.isprintable() for ch in text):
        raise PostUrlError(
            f"That contains spaces or invisible characters. Paste only the link, like {_any_example()}.",
            code="malformed",
        )
    return text


def _with_scheme(text: str) -> str:
    """Add https:// to scheme-less links; refuse non-web schemes (javascript:, data:, ftp:, ...)."""
    if text.startswith("//"):
        return "https:" + text
    match = _SCHEME_PREFIX.match(text)
    if match is None:
        return "https://" + text
    if match.group(1).lower() in _NON_WEB_SCHEMES:
        raise _scheme_error()
    rest = text[match.end() :]
    if rest.startswith("//"):
        return text
    if match.group(1).lower() in _DEFAULT_PORTS:  # "https:/www..." or "https:www...": a broken paste
        raise _malformed_error()
    # "www.tiktok.com:8080/..." (a port) or "user:pass@tiktok.com/..." (credentials) have no scheme;
    # the authority checks below refuse them with the right message.
    if rest[:1].isdigit() or "@" in text.split("/", 1)[0]:
        return "https://" + text
    raise _scheme_error()


def _urlsplit(text: str) -> SplitResult:
    try:
        return urlsplit(text)
    except ValueError:  # e.g. characters that NFKC-normalise into '/', '?', '@'
        raise _malformed_error() from None


def _check_authority(parts: SplitResult) -> None:
    if not parts.netloc:
        raise _malformed_error()
    if "@" in parts.netloc:
        raise PostUrlError(
            "That link contains a user name or password before the site name, a trick used to disguise "
            f"where a link goes. Paste the link as the app shares it, like {_any_example()}.",
            code="credentials",
        )
    try:
        port = parts.port
    except ValueError:
        raise _malformed_error() from None
    if port is not None and port != _DEFAULT_PORTS[parts.scheme.lower()]:
        raise PostUrlError(
            f"That link names port {port}; {_supported()} links never do. Paste the link as the app "
            f"shares it, like {_any_example()}.",
            code="port",
        )


def _checked_host(hostname: str | None) -> str:
    host = (hostname or "").removesuffix(".")
    if not host:
        raise _malformed_error()
    if not host.isascii() or any(label.startswith("xn--") for label in host.split(".")):
        raise PostUrlError(
            f"The site name in that link uses unusual or foreign look-alike letters ({host!r}), so it is not "
            f"a real {_supported()} address. Paste the link copied from the app, like {_any_example()}.",
            code="lookalike_host",
        )
    if not _HOST_CHARS.fullmatch(host):
        raise _malformed_error()
    return host


def _segments(path: str) -> tuple[str, ...]:
    # Split before unquoting so an encoded "%2F" cannot invent a path segment.
    return tuple(unquote(segment) for segment in path.split("/") if segment)


def _spec_for_host(host: str) -> PlatformSpec:
    spec = next((spec for spec in registry.all_specs() if spec.owns_host(host)), None)
    if spec is None:
        raise _unknown_host_error(host)
    return spec


def _unknown_host_error(host: str) -> PostUrlError:
    owner = next(
        (spec for spec in registry.all_specs() for known in spec.hosts if host.endswith("." + known)),
        None,
    )
    if owner is not None:  # a real subdomain that never serves posts: l.facebook.com, help.instagram.com
        return _not_a_post_error(owner, f"That {owner.label} address ({host})")
    imitated = _imitated_platform(host)
    if imitated is None:
        return PostUrlError(
            f"That link is from {host}, which we don't track. Paste the link of a post on {_supported()}, "
            f"like {_any_example()}.",
            code="unknown_site",
        )
    return PostUrlError(
        f"{host} only looks like {imitated.label}; it is not {imitated.label}'s address. Paste the link "
        f"copied from the {imitated.label} app, like {imitated.example_url}.",
        code="lookalike_host",
        platform=imitated.key,
    )


def _imitated_platform(host: str) -> PlatformSpec | None:
    """The platform an unknown host pretends to be: one of its brand names anywhere in the host, or
    (for names too short to search for, like "x") as a whole label before the top-level domain."""
    specs = registry.all_specs()
    for spec in specs:
        if any(fragment in host for fragment in spec.brand_fragments):
            return spec
    labels = host.split(".")[:-1]  # "x.com.evil.example", not the TLD of "evil.x"
    return next((spec for spec in specs if any(label in labels for label in spec.brand_labels)), None)


def _scheme_error() -> PostUrlError:
    return PostUrlError(
        f"Only web links are accepted (starting with https://). Paste the link of a post on {_supported()}, "
        f"like {_any_example()}.",
        code="scheme",
    )


def _malformed_error() -> PostUrlError:
    return PostUrlError(
        f"That is not a complete web link. Paste the link of a post on {_supported()}, like {_any_example()}.",
        code="malformed",
    )


def _profile_error(spec: PlatformSpec) -> PostUrlError:
    noun = spec.post_noun
    return PostUrlError(
        f"That looks like {a_or_an(spec.label)} profile page, not a {noun}. Paste the link of the {noun} "
        f"itself, like {spec.example_url}.",
        code="profile_page",
        platform=spec.key,
    )


def _not_a_post_error(spec: PlatformSpec, subject: str = "") -> PostUrlError:
    noun = spec.post_noun
    subject = subject or f"That {spec.label} link"
    return PostUrlError(
        f"{subject} doesn't point to a {noun}. Paste the link of the {noun} itself, like {spec.example_url}.",
        code="not_a_post",
        platform=spec.key,
    )


# --- handles -----------------------------------------------------------------------------------


def _validate_handle(spec: PlatformSpec, handle: str) -> str:
    normalised = handle.strip().casefold()
    rule = spec.handle_rule
    if not rule.pattern.fullmatch(normalised):
        raise HandleError(
            f"{handle!r} is not a valid {spec.label} handle: use {rule.description}, like @yourname, or paste "
            f"the link of your {spec.label} profile.",
            code="invalid_handle",
        )
    return normalised


def _handle_from_profile_link(spec: PlatformSpec, text: str) -> str:
    try:
        link = _split_link(text)
        linked = _spec_for_host(link.host)
    except PostUrlError as error:
        raise HandleError(error.message, code=error.code) from None
    if linked.key != spec.key:
        raise HandleError(
            f"That is {a_or_an(linked.label)} link, but you are linking {a_or_an(spec.label)} account. "
            f"Paste your {spec.label} profile link or type your @handle.",
            code="wrong_platform",
        )
    try:
        handle = spec.read_profile_handle(link)
    except NotAProfile as reason:
        raise _not_a_profile_error(spec, reason.message) from None
    return _validate_handle(spec, handle)


def _not_a_profile_error(spec: PlatformSpec, message: str = "") -> HandleError:
    return HandleError(
        message
        or f"That link is not a profile page on {spec.label}. Paste the link of your profile page, or "
        "type your @handle.",
        code="not_a_profile",
    )
