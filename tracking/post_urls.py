"""Understanding the post links people paste, and the handles creators type.

``parse_post_url`` turns whatever a person pastes (with or without scheme or ``www``, mobile and
regional hosts, tracking query strings, trailing slashes, Discord's ``<...>`` wrapping) into
``ParsedPostUrl(platform, external_id, canonical_url, needs_resolution, handle)``, or raises
``PostUrlError`` whose message says what was expected.

Hosts are matched against an exact allow-list: look-alikes (Unicode homographs, punycode,
``tiktok.com.evil.example``, ``eviltiktok.com``), credentials, non-web schemes and odd ports are refused
before any path is read, so nothing downstream ever fetches an address we did not recognise.

``needs_resolution`` means the first scrape decides the post id: short links (``vm.tiktok.com``,
``fb.watch``, ``instagram.com/share/...``) carry no id at all (``external_id`` is None), and Facebook
post links carry an id Facebook's scrapers do not report back as ``postId`` (they are kept as a
provisional id so that the same link pasted twice is still caught as a duplicate).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import SplitResult, parse_qs, unquote, urlsplit

from tracking.platforms import Platform

MAX_URL_LENGTH = 2048


@dataclass(frozen=True)
class ParsedPostUrl:
    """A recognised post link.

    ``external_id`` is the platform's post id (TikTok/X numeric id, Instagram shortcode, YouTube
    11-character id, Facebook video id or post id); None for short links. ``handle`` is the account
    name written in the link (lower-cased), None when the link does not name one.
    """

    platform: Platform
    external_id: str | None
    canonical_url: str
    needs_resolution: bool
    handle: str | None = None


class PostUrlError(ValueError):
    """A pasted link we refuse. ``message`` is meant for the person who pasted it.

    ``code`` is a stable machine-readable reason (``profile_page``, ``not_a_post``, ``unknown_site``,
    ``lookalike_host``, ``credentials``, ``scheme``, ``port``, ``too_long``, ``malformed``, ``empty``);
    ``platform`` is set when the link was recognisably from one platform.
    """

    def __init__(self, message: str, *, code: str, platform: Platform | None = None):
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


# --- what each platform looks like -------------------------------------------------------------

_HOSTS: dict[str, Platform] = {
    **dict.fromkeys(
        ["tiktok.com", "www.tiktok.com", "m.tiktok.com", "vm.tiktok.com", "vt.tiktok.com"], Platform.TIKTOK
    ),
    **dict.fromkeys(
        ["instagram.com", "www.instagram.com", "m.instagram.com", "instagr.am", "www.instagr.am"],
        Platform.INSTAGRAM,
    ),
    **dict.fromkeys(
        [
            "youtube.com",
            "www.youtube.com",
            "m.youtube.com",
            "music.youtube.com",
            "youtu.be",
            "www.youtu.be",
            "youtube-nocookie.com",
            "www.youtube-nocookie.com",
        ],
        Platform.YOUTUBE,
    ),
    # fxtwitter/vxtwitter/fixupx are the embed-fixing mirrors Discord users paste all the time; only
    # the status id is read from them and the canonical URL is always x.com.
    **dict.fromkeys(
        [
            "x.com",
            "www.x.com",
            "mobile.x.com",
            "twitter.com",
            "www.twitter.com",
            "mobile.twitter.com",
            "m.twitter.com",
            "fxtwitter.com",
            "vxtwitter.com",
            "fixupx.com",
            "fixvx.com",
        ],
        Platform.X,
    ),
    **dict.fromkeys(
        [
            "facebook.com",
            "www.facebook.com",
            "m.facebook.com",
            "web.facebook.com",
            "mbasic.facebook.com",
            "touch.facebook.com",
            "mobile.facebook.com",
            "fb.com",
            "www.fb.com",
            "fb.watch",
            "www.fb.watch",
        ],
        Platform.FACEBOOK,
    ),
}
# Facebook's regional hosts: es-la.facebook.com, de-de.facebook.com, ...
_FACEBOOK_LOCALE_HOST = re.compile(r"[a-z]{2}-[a-z]{2}\.facebook\.com")

# Substrings (and, for the short ones, whole host labels) that make an unknown host a look-alike.
_BRAND_SUBSTRINGS = {
    "tiktok": Platform.TIKTOK,
    "instagram": Platform.INSTAGRAM,
    "youtube": Platform.YOUTUBE,
    "youtu": Platform.YOUTUBE,
    "twitter": Platform.X,
    "facebook": Platform.FACEBOOK,
}
_BRAND_LABELS = {"instagr": Platform.INSTAGRAM, "x": Platform.X, "fb": Platform.FACEBOOK}

_EXAMPLES = {
    Platform.TIKTOK: "https://www.tiktok.com/@user/video/7234567890123456789",
    Platform.INSTAGRAM: "https://www.instagram.com/reel/C1a2B3c4D5e/",
    Platform.YOUTUBE: "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
    Platform.X: "https://x.com/user/status/1840503004857774267",
    Platform.FACEBOOK: "https://www.facebook.com/reel/1234567890123456",
}
_POST_NOUN = {
    Platform.TIKTOK: "video",
    Platform.INSTAGRAM: "post",
    Platform.YOUTUBE: "video",
    Platform.X: "post",
    Platform.FACEBOOK: "post or video",
}
_SUPPORTED = "TikTok, Instagram, YouTube, X or Facebook"
_ANY_EXAMPLE = f"{_EXAMPLES[Platform.TIKTOK]} or {_EXAMPLES[Platform.YOUTUBE]}"

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
    platform = _platform_for_host(link.host)
    return _POST_PARSERS[platform](link)


def parse_profile_handle(platform: Platform, raw: str) -> str:
    """Normalise the handle a creator typed for ``platform``: ``@Name``, ``name`` or a profile link.

    Returns the handle without ``@``, lower-cased (every supported platform treats handles
    case-insensitively); for Facebook a numeric profile id is returned when the link only has one.
    Raises ``HandleError`` naming the allowed form.
    """
    text = (raw or "").strip().strip("<>").strip()
    if not text:
        raise HandleError(f"Type your {platform.label} handle, like @yourname.", code="empty")
    if "/" in text:
        return _handle_from_profile_link(platform, text)
    return _validate_handle(platform, text.removeprefix("@"))


# --- splitting and checking the link itself ----------------------------------------------------


@dataclass(frozen=True)
class _Link:
    host: str
    segments: tuple[str, ...]
    query: dict[str, list[str]]

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None


def _split_link(raw: str) -> _Link:
    """Check everything about a link that is not platform-specific, and split it."""
    text = _trim(raw)
    parts = _urlsplit(_with_scheme(text))
    if parts.scheme.lower() not in _DEFAULT_PORTS:
        raise _scheme_error()
    _check_authority(parts)
    return _Link(host=_checked_host(parts.hostname), segments=_segments(parts.path), query=parse_qs(parts.query))


def _trim(raw: str) -> str:
    text = (raw or "").strip()
    if len(text) > MAX_URL_LENGTH:
        raise PostUrlError(
            f"That link is {len(text)} characters long; post links are far shorter (at most "
            f"{MAX_URL_LENGTH}). Paste only the link of the post, like {_ANY_EXAMPLE}.",
            code="too_long",
        )
    if text.startswith("<") and text.endswith(">"):  # Discord's "no embed" wrapping
        text = text[1:-1].strip()
    if not text:
        raise PostUrlError(f"Paste the link of a post, like {_ANY_EXAMPLE}.", code="empty")
    if any(ch.isspace() or not ch.isprintable() for ch in text):
        raise PostUrlError(
            f"That contains spaces or invisible characters. Paste only the link, like {_ANY_EXAMPLE}.",
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
            f"where a link goes. Paste the link as the app shares it, like {_ANY_EXAMPLE}.",
            code="credentials",
        )
    try:
        port = parts.port
    except ValueError:
        raise _malformed_error() from None
    if port is not None and port != _DEFAULT_PORTS[parts.scheme.lower()]:
        raise PostUrlError(
            f"That link names port {port}; {_SUPPORTED} links never do. Paste the link as the app "
            f"shares it, like {_ANY_EXAMPLE}.",
            code="port",
        )


def _checked_host(hostname: str | None) -> str:
    host = (hostname or "").removesuffix(".")
    if not host:
        raise _malformed_error()
    if not host.isascii() or any(label.startswith("xn--") for label in host.split(".")):
        raise PostUrlError(
            f"The site name in that link uses unusual or foreign look-alike letters ({host!r}), so it is not "
            f"a real {_SUPPORTED} address. Paste the link copied from the app, like {_ANY_EXAMPLE}.",
            code="lookalike_host",
        )
    if not _HOST_CHARS.fullmatch(host):
        raise _malformed_error()
    return host


def _segments(path: str) -> tuple[str, ...]:
    # Split before unquoting so an encoded "%2F" cannot invent a path segment.
    return tuple(unquote(segment) for segment in path.split("/") if segment)


def _platform_for_host(host: str) -> Platform:
    platform = _HOSTS.get(host)
    if platform is None and _FACEBOOK_LOCALE_HOST.fullmatch(host):
        platform = Platform.FACEBOOK
    if platform is None:
        raise _unknown_host_error(host)
    return platform


def _unknown_host_error(host: str) -> PostUrlError:
    owner = next((platform for known, platform in _HOSTS.items() if host.endswith("." + known)), None)
    if owner is not None:  # a real subdomain that never serves posts: l.facebook.com, help.instagram.com
        return _not_a_post_error(owner, f"That {owner.label} address ({host})")
    imitated = _imitated_platform(host)
    if imitated is None:
        return PostUrlError(
            f"That link is from {host}, which we don't track. Paste the link of a post on {_SUPPORTED}, "
            f"like {_ANY_EXAMPLE}.",
            code="unknown_site",
        )
    return PostUrlError(
        f"{host} only looks like {imitated.label}; it is not {imitated.label}'s address. Paste the link "
        f"copied from the {imitated.label} app, like {_EXAMPLES[imitated]}.",
        code="lookalike_host",
        platform=imitated,
    )


def _imitated_platform(host: str) -> Platform | None:
    for fragment, platform in _BRAND_SUBSTRINGS.items():
        if fragment in host:
            return platform
    labels = host.split(".")
    for label, platform in _BRAND_LABELS.items():
        if label in labels[:-1]:  # "x.com.evil.example", not the TLD of "evil.x"
            return platform
    return None


def _scheme_error() -> PostUrlError:
    return PostUrlError(
        f"Only web links are accepted (starting with https://). Paste the link of a post on {_SUPPORTED}, "
        f"like {_ANY_EXAMPLE}.",
        code="scheme",
    )


def _malformed_error() -> PostUrlError:
    return PostUrlError(
        f"That is not a complete web link. Paste the link of a post on {_SUPPORTED}, like {_ANY_EXAMPLE}.",
        code="malformed",
    )


def _profile_error(platform: Platform) -> PostUrlError:
    noun = _POST_NOUN[platform]
    return PostUrlError(
        f"That looks like a {platform.label} profile page, not a {noun}. Paste the link of the {noun} "
        f"itself, like {_EXAMPLES[platform]}.",
        code="profile_page",
        platform=platform,
    )


def _not_a_post_error(platform: Platform, what: str = "") -> PostUrlError:
    noun = _POST_NOUN[platform]
    subject = what or f"That {platform.label} link"
    return PostUrlError(
        f"{subject} doesn't point to a {noun}. Paste the link of the {noun} itself, like {_EXAMPLES[platform]}.",
        code="not_a_post",
        platform=platform,
    )


def _short_link(platform: Platform, host: str, path: str) -> ParsedPostUrl:
    """A share link whose post id only the first scrape can tell; kept clean for the scraper."""
    return ParsedPostUrl(
        platform=platform, external_id=None, canonical_url=f"https://{host}/{path}/", needs_resolution=True
    )


# --- TikTok ------------------------------------------------------------------------------------

_TIKTOK_ID = re.compile(r"\d{10,21}")
_TIKTOK_SHORT_CODE = re.compile(r"[A-Za-z0-9_-]{4,24}")
_TIKTOK_HANDLE = re.compile(r"[a-z0-9_.]{1,24}")
# Path prefixes that are followed by a bare video id (the embed, player, share and old mobile forms).
_TIKTOK_ID_PREFIXES = {("v",), ("video",), ("share", "video"), ("embed",), ("embed", "v2"), ("player", "v1")}


def _parse_tiktok(link: _Link) -> ParsedPostUrl:
    segments = link.segments
    if link.host in ("vm.tiktok.com", "vt.tiktok.com"):
        return _tiktok_short(link.host, segments)
    if segments[:1] == ("t",):
        return _tiktok_short("www.tiktok.com", segments[1:], prefix="t/")
    if segments and segments[0].startswith("@"):
        return _tiktok_under_handle(segments)
    return _tiktok_bare_id(segments)


def _tiktok_short(host: str, segments: tuple[str, ...], prefix: str = "") -> ParsedPostUrl:
    if len(segments) != 1 or not _TIKTOK_SHORT_CODE.fullmatch(segments[0]):
        raise _not_a_post_error(Platform.TIKTOK, "That TikTok share link is incomplete and")
    return _short_link(Platform.TIKTOK, host, prefix + segments[0])


def _tiktok_under_handle(segments: tuple[str, ...]) -> ParsedPostUrl:
    handle = segments[0][1:].lower() or None
    if handle is not None and not _TIKTOK_HANDLE.fullmatch(handle):
        raise _not_a_post_error(Platform.TIKTOK)
    if len(segments) == 1:
        raise _profile_error(Platform.TIKTOK)
    if len(segments) < 3 or segments[1] not in ("video", "photo") or not _TIKTOK_ID.fullmatch(segments[2]):
        raise _not_a_post_error(Platform.TIKTOK)
    return _tiktok_post(segments[2], kind=segments[1], handle=handle)


def _tiktok_bare_id(segments: tuple[str, ...]) -> ParsedPostUrl:
    if len(segments) < 2 or segments[:-1] not in _TIKTOK_ID_PREFIXES:
        raise _not_a_post_error(Platform.TIKTOK)
    video_id = segments[-1].removesuffix(".html")
    if not _TIKTOK_ID.fullmatch(video_id):
        raise _not_a_post_error(Platform.TIKTOK)
    return _tiktok_post(video_id, kind="video", handle=None)


def _tiktok_post(post_id: str, *, kind: str, handle: str | None) -> ParsedPostUrl:
    # TikTok redirects /@/video/<id> to the right account, so an unknown handle still gives a
    # working canonical link.
    return ParsedPostUrl(
        platform=Platform.TIKTOK,
        external_id=post_id,
        canonical_url=f"https://www.tiktok.com/@{handle or ''}/{kind}/{post_id}",
        needs_resolution=False,
        handle=handle,
    )


# --- Instagram ---------------------------------------------------------------------------------

_INSTAGRAM_KINDS = {"p", "reel", "reels", "tv"}
# Shortcodes are 11 characters today; older posts have shorter ones, private accounts' longer ones.
_INSTAGRAM_SHORTCODE = re.compile(r"[A-Za-z0-9_-]{6,64}")
_INSTAGRAM_HANDLE = re.compile(r"[a-z0-9._]{1,30}")
_INSTAGRAM_NON_PROFILES = {"explore", "accounts", "direct", "about", "developer", "legal", "web", "emails"}


def _parse_instagram(link: _Link) -> ParsedPostUrl:
    segments = link.segments
    head = segments[0].lower() if segments else ""
    if head == "share":
        return _instagram_share(segments[1:])
    if head == "stories":
        raise _not_a_post_error(Platform.INSTAGRAM, "That Instagram story link disappears after a day and")
    if head in _INSTAGRAM_KINDS:
        return _instagram_post(segments[1:], handle=None)
    if len(segments) >= 2 and segments[1] in _INSTAGRAM_KINDS:
        return _instagram_post(segments[2:], handle=_instagram_handle(segments[0]))
    if len(segments) == 1 and head not in _INSTAGRAM_NON_PROFILES and _INSTAGRAM_HANDLE.fullmatch(head):
        raise _profile_error(Platform.INSTAGRAM)
    raise _not_a_post_error(Platform.INSTAGRAM)


def _instagram_share(segments: tuple[str, ...]) -> ParsedPostUrl:
    # instagram.com/share/<code>, /share/reel/<code>, /share/p/<code>
    if segments[:1] in (("reel",), ("p",)):
        kind, code = segments[0] + "/", segments[1:]
    else:
        kind, code = "", segments
    if len(code) != 1 or not _INSTAGRAM_SHORTCODE.fullmatch(code[0]):
        raise _not_a_post_error(Platform.INSTAGRAM, "That Instagram share link is incomplete and")
    return _short_link(Platform.INSTAGRAM, "www.instagram.com", f"share/{kind}{code[0]}")


def _instagram_handle(segment: str) -> str:
    handle = segment.lower()
    if not _INSTAGRAM_HANDLE.fullmatch(handle):
        raise _not_a_post_error(Platform.INSTAGRAM)
    return handle


def _instagram_post(rest: tuple[str, ...], *, handle: str | None) -> ParsedPostUrl:
    # Anything after the shortcode (/embed/, /captioned/, /liked_by/) is a view of the same post.
    if not rest or not _INSTAGRAM_SHORTCODE.fullmatch(rest[0]):
        raise _not_a_post_error(Platform.INSTAGRAM)
    shortcode = rest[0]
    # One canonical form for posts, reels and IGTV alike: /p/<shortcode>/ serves all three and is what
    # the scraper reports back. Matching must still be by shortcode, never by URL.
    return ParsedPostUrl(
        platform=Platform.INSTAGRAM,
        external_id=shortcode,
        canonical_url=f"https://www.instagram.com/p/{shortcode}/",
        needs_resolution=False,
        handle=handle,
    )


# --- YouTube -----------------------------------------------------------------------------------

_YOUTUBE_ID = re.compile(r"[A-Za-z0-9_-]{11}")
_YOUTUBE_ID_PATHS = {"shorts", "embed", "live", "v", "e", "watch"}
_YOUTUBE_CHANNEL_PATHS = {"channel", "c", "user"}
# 11-character path words that are not video ids ("/embed/videoseries?list=..." is a playlist).
_YOUTUBE_NOT_IDS = {"videoseries"}


def _parse_youtube(link: _Link) -> ParsedPostUrl:
    segments = link.segments
    if link.host in ("youtu.be", "www.youtu.be"):
        candidate = segments[0] if segments else None
    elif segments == ("watch",) or (not segments and link.param("v")):
        candidate = link.param("v")
    elif len(segments) >= 2 and segments[0] in _YOUTUBE_ID_PATHS:
        candidate = segments[1]
    elif segments and (segments[0].startswith("@") or segments[0] in _YOUTUBE_CHANNEL_PATHS):
        raise _profile_error(Platform.YOUTUBE)
    else:
        raise _not_a_post_error(Platform.YOUTUBE)
    return _youtube_video(candidate)


def _youtube_video(candidate: str | None) -> ParsedPostUrl:
    if candidate is None or candidate in _YOUTUBE_NOT_IDS or not _YOUTUBE_ID.fullmatch(candidate):
        raise _not_a_post_error(Platform.YOUTUBE, "That YouTube link has no valid video id, so it")
    return ParsedPostUrl(
        platform=Platform.YOUTUBE,
        external_id=candidate,
        canonical_url=f"https://www.youtube.com/watch?v={candidate}",
        needs_resolution=False,
    )


# --- X (Twitter) -------------------------------------------------------------------------------

_X_ID = re.compile(r"\d{1,20}")
_X_HANDLE = re.compile(r"[a-z0-9_]{1,15}")
_X_NON_PROFILES = {
    "home",
    "explore",
    "search",
    "notifications",
    "messages",
    "settings",
    "i",
    "intent",
    "share",
    "hashtag",
    "login",
    "signup",
    "tos",
    "privacy",
    "compose",
}


def _parse_x(link: _Link) -> ParsedPostUrl:
    segments = link.segments
    if segments[:3] == ("i", "web", "status"):
        segments = ("i", *segments[2:])
    if len(segments) >= 3 and segments[1] in ("status", "statuses"):
        return _x_post(user=segments[0].lower(), post_id=segments[2])
    if len(segments) in (1, 2) and _is_x_profile(segments[0].lower()):
        raise _profile_error(Platform.X)
    raise _not_a_post_error(Platform.X)


def _is_x_profile(name: str) -> bool:
    return name not in _X_NON_PROFILES and _X_HANDLE.fullmatch(name) is not None


def _x_post(*, user: str, post_id: str) -> ParsedPostUrl:
    # Anything after the id (/photo/1, /video/1, /analytics) is a view of the same post.
    if not _X_ID.fullmatch(post_id) or not _X_HANDLE.fullmatch(user):
        raise _not_a_post_error(Platform.X)
    handle = None if user == "i" else user
    return ParsedPostUrl(
        platform=Platform.X,
        external_id=post_id,
        canonical_url=f"https://x.com/{handle or 'i'}/status/{post_id}",
        needs_resolution=False,
        handle=handle,
    )


# --- Facebook ----------------------------------------------------------------------------------

_FACEBOOK_ID = re.compile(r"\d{5,25}")
_FACEBOOK_POST_ID = re.compile(r"\d{5,25}|pfbid0[A-Za-z0-9]{20,100}")
_FACEBOOK_SHARE_CODE = re.compile(r"[A-Za-z0-9_-]{4,40}")
_FACEBOOK_PAGE = re.compile(r"[a-z0-9._-]{1,100}")
_FACEBOOK_PHOTO_PATHS = {"photo", "photo.php", "photos", "media"}
_FACEBOOK_PROFILE_PATHS = {"profile.php", "people", "p"}
_FACEBOOK_NON_PAGES = {
    "watch",
    "reel",
    "reels",
    "share",
    "groups",
    "events",
    "marketplace",
    "gaming",
    "login",
    "help",
    "pages",
    "stories",
    "story.php",
    "permalink.php",
    "video.php",
    "l.php",
    "hashtag",
    "search",
}


def _parse_facebook(link: _Link) -> ParsedPostUrl:
    segments = link.segments
    if link.host in ("fb.watch", "www.fb.watch"):
        return _facebook_share("fb.watch", segments, prefix="")
    head = segments[0].lower() if segments else ""
    handler = _FACEBOOK_HEADS.get(head)
    if handler is not None:
        return handler(link)
    if head in _FACEBOOK_PHOTO_PATHS:
        raise _not_a_post_error(Platform.FACEBOOK, "That Facebook photo link")
    if head in _FACEBOOK_PROFILE_PATHS:
        raise _profile_error(Platform.FACEBOOK)
    return _facebook_page_path(segments)


def _facebook_share(host: str, segments: tuple[str, ...], *, prefix: str) -> ParsedPostUrl:
    # facebook.com/share/r/<code>, /share/v/<code>, /share/p/<code>, /share/<code>, fb.watch/<code>
    kind = segments[:1] if len(segments) == 2 and segments[0] in ("r", "v", "p") else ()
    code = segments[len(kind) :]
    if len(code) != 1 or not _FACEBOOK_SHARE_CODE.fullmatch(code[0]):
        raise _not_a_post_error(Platform.FACEBOOK, "That Facebook share link is incomplete and")
    return _short_link(Platform.FACEBOOK, host, prefix + "/".join(kind + code))


def _facebook_share_path(link: _Link) -> ParsedPostUrl:
    return _facebook_share("www.facebook.com", link.segments[1:], prefix="share/")


def _facebook_reel(link: _Link) -> ParsedPostUrl:
    segments = link.segments
    if len(segments) < 2 or not _FACEBOOK_ID.fullmatch(segments[1]):
        raise _not_a_post_error(Platform.FACEBOOK, "That Facebook reels link")
    return _facebook_video(segments[1], handle=None, canonical=f"https://www.facebook.com/reel/{segments[1]}")


def _facebook_watch(link: _Link) -> ParsedPostUrl:
    video_id = link.param("v")
    if video_id is None or not _FACEBOOK_ID.fullmatch(video_id):
        raise _not_a_post_error(Platform.FACEBOOK, "That Facebook Watch link has no video id and")
    return _facebook_video(video_id, handle=None)


def _facebook_video(video_id: str, *, handle: str | None, canonical: str = "") -> ParsedPostUrl:
    return ParsedPostUrl(
        platform=Platform.FACEBOOK,
        external_id=video_id,
        canonical_url=canonical or f"https://www.facebook.com/watch/?v={video_id}",
        needs_resolution=False,
        handle=handle,
    )


def _facebook_story(link: _Link) -> ParsedPostUrl:
    # story.php / permalink.php ?story_fbid=<post id>&id=<owner id>
    post_id, owner = link.param("story_fbid"), link.param("id")
    if post_id is None or owner is None or not _FACEBOOK_POST_ID.fullmatch(post_id):
        raise _not_a_post_error(Platform.FACEBOOK, "That Facebook story link is incomplete and")
    if not _FACEBOOK_ID.fullmatch(owner):
        raise _not_a_post_error(Platform.FACEBOOK)
    return _facebook_post(owner, post_id, handle=owner)


def _facebook_group(link: _Link) -> ParsedPostUrl:
    segments = link.segments
    if len(segments) < 4 or segments[2] not in ("posts", "permalink"):
        raise _not_a_post_error(Platform.FACEBOOK, "That Facebook group link")
    group, post_id = segments[1].lower(), segments[3]
    if not _FACEBOOK_PAGE.fullmatch(group) or not _FACEBOOK_POST_ID.fullmatch(post_id):
        raise _not_a_post_error(Platform.FACEBOOK)
    return _facebook_post(f"groups/{group}", post_id, handle=None)


def _facebook_page_path(segments: tuple[str, ...]) -> ParsedPostUrl:
    """/<page>, /<page>/posts/<id>, /<page>/videos/[<slug>/]<id>."""
    page = segments[0].lower() if segments else ""
    if not page or page in _FACEBOOK_NON_PAGES or not _FACEBOOK_PAGE.fullmatch(page):
        raise _not_a_post_error(Platform.FACEBOOK)
    if len(segments) == 1:
        raise _profile_error(Platform.FACEBOOK)
    if segments[1] == "posts" and len(segments) >= 3 and _FACEBOOK_POST_ID.fullmatch(segments[2]):
        return _facebook_post(page, segments[2], handle=page)
    if segments[1] == "videos":
        video_ids = [s for s in segments[2:] if _FACEBOOK_ID.fullmatch(s)]
        if video_ids:  # the last number: /videos/vb.<page id>/<video id>/ carries two
            return _facebook_video(video_ids[-1], handle=page)
    raise _not_a_post_error(Platform.FACEBOOK)


def _facebook_post(owner: str, post_id: str, *, handle: str | None) -> ParsedPostUrl:
    # The id in a post link (numeric or "pfbid...") is not the postId Facebook's scrapers report, so
    # it is provisional: the first scrape settles it (needs_resolution).
    return ParsedPostUrl(
        platform=Platform.FACEBOOK,
        external_id=post_id,
        canonical_url=f"https://www.facebook.com/{owner}/posts/{post_id}",
        needs_resolution=True,
        handle=handle,
    )


_FACEBOOK_HEADS: dict[str, Callable[[_Link], ParsedPostUrl]] = {
    "share": _facebook_share_path,
    "reel": _facebook_reel,
    "reels": _facebook_reel,
    "watch": _facebook_watch,
    "video.php": _facebook_watch,
    "story.php": _facebook_story,
    "permalink.php": _facebook_story,
    "groups": _facebook_group,
}

_POST_PARSERS: dict[Platform, Callable[[_Link], ParsedPostUrl]] = {
    Platform.TIKTOK: _parse_tiktok,
    Platform.INSTAGRAM: _parse_instagram,
    Platform.YOUTUBE: _parse_youtube,
    Platform.X: _parse_x,
    Platform.FACEBOOK: _parse_facebook,
}


# --- handles -----------------------------------------------------------------------------------

_HANDLE_RULES: dict[Platform, tuple[re.Pattern[str], str]] = {
    Platform.TIKTOK: (
        re.compile(r"[a-z0-9_.]{2,24}"),
        "2 to 24 letters, digits, underscores or dots",
    ),
    Platform.INSTAGRAM: (
        re.compile(r"(?!.*\.\.)(?!\.)[a-z0-9._]{1,30}(?<!\.)"),
        "up to 30 letters, digits, underscores or dots (not starting or ending with a dot)",
    ),
    # YouTube handles may use letters of any script, so \w rather than [a-z].
    Platform.YOUTUBE: (re.compile(r"[\w.-]{3,30}"), "3 to 30 letters, digits, underscores, hyphens or dots"),
    Platform.X: (re.compile(r"[a-z0-9_]{1,15}"), "up to 15 letters, digits or underscores"),
    Platform.FACEBOOK: (
        # New names need 5 characters, but long-standing pages such as facebook.com/nasa are shorter.
        re.compile(r"[a-z0-9.]{2,50}|\d{5,25}"),
        "2 to 50 letters, digits or dots, or your numeric profile id",
    ),
}


def _validate_handle(platform: Platform, handle: str) -> str:
    normalised = handle.strip().casefold()
    pattern, rule = _HANDLE_RULES[platform]
    if not pattern.fullmatch(normalised):
        raise HandleError(
            f"{handle!r} is not a valid {platform.label} handle: use {rule}, like @yourname, or paste "
            f"the link of your {platform.label} profile.",
            code="invalid_handle",
        )
    return normalised


def _handle_from_profile_link(platform: Platform, text: str) -> str:
    try:
        link = _split_link(text)
        linked_platform = _platform_for_host(link.host)
    except PostUrlError as error:
        raise HandleError(error.message, code=error.code) from None
    if linked_platform != platform:
        raise HandleError(
            f"That is a {linked_platform.label} link, but you are linking a {platform.label} account. "
            f"Paste your {platform.label} profile link or type your @handle.",
            code="wrong_platform",
        )
    return _validate_handle(platform, _PROFILE_HANDLE_READERS[platform](link))


def _not_a_profile(platform: Platform) -> HandleError:
    return HandleError(
        f"That link is not a profile page on {platform.label}. Paste the link of your profile page, or "
        "type your @handle.",
        code="not_a_profile",
    )


def _tiktok_profile_handle(link: _Link) -> str:
    if len(link.segments) != 1 or not link.segments[0].startswith("@"):
        raise _not_a_profile(Platform.TIKTOK)
    return link.segments[0][1:]


def _instagram_profile_handle(link: _Link) -> str:
    segments = link.segments
    if len(segments) != 1 or segments[0].lower() in _INSTAGRAM_NON_PROFILES | _INSTAGRAM_KINDS:
        raise _not_a_profile(Platform.INSTAGRAM)
    return segments[0]


def _youtube_profile_handle(link: _Link) -> str:
    # /@handle, /@handle/videos, /@handle/shorts ...; legacy /channel/ and /user/ links name no handle.
    segments = link.segments
    if link.host in ("youtu.be", "www.youtu.be") or not segments or not segments[0].startswith("@"):
        raise HandleError(
            "That YouTube link does not show your @handle. Open your channel and paste the link that "
            "looks like https://www.youtube.com/@yourname, or type @yourname.",
            code="not_a_profile",
        )
    return segments[0][1:]


def _x_profile_handle(link: _Link) -> str:
    segments = link.segments
    if len(segments) not in (1, 2) or not _is_x_profile(segments[0].lower()):
        raise _not_a_profile(Platform.X)
    return segments[0]


def _facebook_profile_handle(link: _Link) -> str:
    segments = link.segments
    head = segments[0].lower() if segments else ""
    if head == "profile.php" and link.param("id"):
        return link.param("id") or ""
    numbers = re.findall(r"\d{5,25}", segments[-1]) if head in ("people", "p") and len(segments) >= 2 else []
    if numbers:  # /people/<Name>/<id>/ and /p/<Name>-<id>/
        return numbers[-1]
    if len(segments) != 1 or head in _FACEBOOK_NON_PAGES | _FACEBOOK_PROFILE_PATHS or link.host == "fb.watch":
        raise _not_a_profile(Platform.FACEBOOK)
    return segments[0]


_PROFILE_HANDLE_READERS: dict[Platform, Callable[[_Link], str]] = {
    Platform.TIKTOK: _tiktok_profile_handle,
    Platform.INSTAGRAM: _instagram_profile_handle,
    Platform.YOUTUBE: _youtube_profile_handle,
    Platform.X: _x_profile_handle,
    Platform.FACEBOOK: _facebook_profile_handle,
}
