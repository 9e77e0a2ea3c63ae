"""What we make of the links people paste, and of the handles creators type."""

from __future__ import annotations

import pytest

from tracking.platforms import Platform
from tracking.post_urls import (
    MAX_URL_LENGTH,
    HandleError,
    ParsedPostUrl,
    PostUrlError,
    parse_post_url,
    parse_profile_handle,
)

TT, IG, YT, X, FB = Platform.TIKTOK, Platform.INSTAGRAM, Platform.YOUTUBE, Platform.X, Platform.FACEBOOK

# Ids taken from the vendor samples in /work/shared/samples where there is one.
TT_ID = "7623046776752295175"
TT_PHOTO_ID = "7301234567890123456"
TT_CANON = f"https://www.tiktok.com/@ohmyshop.store/video/{TT_ID}"
TT_NO_HANDLE = f"https://www.tiktok.com/@/video/{TT_ID}"
YT_WATCH = "https://www.youtube.com/watch?v="
PFBID = "pfbid02DQ8mxxirEoi1MLLvvNQ3Av9hLBmM3xcpg86WuYP2jFNmKzpBtLq9F1XsWBrMZT1Xl"
FB_OWNER = "100084236786813"
FB_VIDEO = "10153231379946729"
FB_WATCH = f"https://www.facebook.com/watch/?v={FB_VIDEO}"
X_ID = "1728108619189874825"

# (pasted, platform, external_id, canonical_url, needs_resolution, handle)
ACCEPTED = [
    # --- TikTok
    (TT_CANON, TT, TT_ID, TT_CANON, False, "ohmyshop.store"),
    (f"tiktok.com/@ohmyshop.store/video/{TT_ID}", TT, TT_ID, TT_CANON, False, "ohmyshop.store"),
    (f"www.tiktok.com/@ohmyshop.store/video/{TT_ID}/", TT, TT_ID, TT_CANON, False, "ohmyshop.store"),
    (f"http://www.tiktok.com/@ohmyshop.store/video/{TT_ID}", TT, TT_ID, TT_CANON, False, "ohmyshop.store"),
    (
        f"https://www.tiktok.com/@OhMyShop.Store/video/{TT_ID}?is_from_webapp=1&sender_device=pc&web_id=7301234567890123456",
        TT,
        TT_ID,
        TT_CANON,
        False,
        "ohmyshop.store",
    ),
    (
        f"https://www.tiktok.com/@ohmyshop.store/video/{TT_ID}?lang=en&q=shoes&t=1712345678901",
        TT,
        TT_ID,
        TT_CANON,
        False,
        "ohmyshop.store",
    ),
    (f"https://m.tiktok.com/@ohmyshop.store/video/{TT_ID}", TT, TT_ID, TT_CANON, False, "ohmyshop.store"),
    (
        f"https://www.tiktok.com/@dancequeen_22/photo/{TT_PHOTO_ID}?_r=1&_t=8hAbCdEfGh",
        TT,
        TT_PHOTO_ID,
        f"https://www.tiktok.com/@dancequeen_22/photo/{TT_PHOTO_ID}",
        False,
        "dancequeen_22",
    ),
    (f"https://m.tiktok.com/v/{TT_ID}.html", TT, TT_ID, TT_NO_HANDLE, False, None),
    (
        f"https://m.tiktok.com/v/{TT_ID}.html?u_code=d9abc&preview_pb=0&language=en&share_item_id={TT_ID}",
        TT,
        TT_ID,
        TT_NO_HANDLE,
        False,
        None,
    ),
    (f"https://www.tiktok.com/embed/v2/{TT_ID}", TT, TT_ID, TT_NO_HANDLE, False, None),
    (f"https://www.tiktok.com/embed/{TT_ID}", TT, TT_ID, TT_NO_HANDLE, False, None),
    (
        f"https://www.tiktok.com/player/v1/{TT_ID}?music_info=1&description=1",
        TT,
        TT_ID,
        TT_NO_HANDLE,
        False,
        None,
    ),
    (f"https://www.tiktok.com/@/video/{TT_ID}", TT, TT_ID, TT_NO_HANDLE, False, None),
    (f"https://www.tiktok.com/video/{TT_ID}", TT, TT_ID, TT_NO_HANDLE, False, None),
    (f"https://www.tiktok.com/share/video/{TT_ID}", TT, TT_ID, TT_NO_HANDLE, False, None),
    (f"<https://www.tiktok.com/@ohmyshop.store/video/{TT_ID}>", TT, TT_ID, TT_CANON, False, "ohmyshop.store"),
    (f"  {TT_CANON}\n", TT, TT_ID, TT_CANON, False, "ohmyshop.store"),
    (f"HTTPS://WWW.TIKTOK.COM/@ohmyshop.store/video/{TT_ID}", TT, TT_ID, TT_CANON, False, "ohmyshop.store"),
    (
        f"https://www.tiktok.com:443/@ohmyshop.store/video/{TT_ID}#comments",
        TT,
        TT_ID,
        TT_CANON,
        False,
        "ohmyshop.store",
    ),
    (f"https://www.tiktok.com./@ohmyshop.store/video/{TT_ID}", TT, TT_ID, TT_CANON, False, "ohmyshop.store"),
    ("https://vm.tiktok.com/ZMhvqKx2s/", TT, None, "https://vm.tiktok.com/ZMhvqKx2s/", True, None),
    ("vm.tiktok.com/ZMhvqKx2s", TT, None, "https://vm.tiktok.com/ZMhvqKx2s/", True, None),
    (
        "https://vt.tiktok.com/ZSjNk8T5e/?utm_source=copy&utm_medium=android",
        TT,
        None,
        "https://vt.tiktok.com/ZSjNk8T5e/",
        True,
        None,
    ),
    ("https://www.tiktok.com/t/ZT8LxYp2q/", TT, None, "https://www.tiktok.com/t/ZT8LxYp2q/", True, None),
    # --- Instagram: one canonical form (/p/) whatever the kind, the shortcode is the id
    (
        "https://www.instagram.com/p/DSGhrgIDmkP/",
        IG,
        "DSGhrgIDmkP",
        "https://www.instagram.com/p/DSGhrgIDmkP/",
        False,
        None,
    ),
    (
        "instagram.com/p/DSGhrgIDmkP",
        IG,
        "DSGhrgIDmkP",
        "https://www.instagram.com/p/DSGhrgIDmkP/",
        False,
        None,
    ),
    (
        "https://www.instagram.com/p/DSGhrgIDmkP/?utm_source=ig_web_copy_link&igsh=MzRlODBiNWFlZA==",
        IG,
        "DSGhrgIDmkP",
        "https://www.instagram.com/p/DSGhrgIDmkP/",
        False,
        None,
    ),
    (
        "https://www.instagram.com/reel/DTA4-URETWb/?igsh=MWQ1ZGUxMzBkMA==",
        IG,
        "DTA4-URETWb",
        "https://www.instagram.com/p/DTA4-URETWb/",
        False,
        None,
    ),
    (
        "https://www.instagram.com/reels/DTA4-URETWb/",
        IG,
        "DTA4-URETWb",
        "https://www.instagram.com/p/DTA4-URETWb/",
        False,
        None,
    ),
    (
        "https://www.instagram.com/tv/CzT_4bYrQ9x/",
        IG,
        "CzT_4bYrQ9x",
        "https://www.instagram.com/p/CzT_4bYrQ9x/",
        False,
        None,
    ),
    (
        "https://www.instagram.com/wendys/p/DSGhrgIDmkP/",
        IG,
        "DSGhrgIDmkP",
        "https://www.instagram.com/p/DSGhrgIDmkP/",
        False,
        "wendys",
    ),
    (
        "https://www.instagram.com/Wendys/reel/DTA4-URETWb/",
        IG,
        "DTA4-URETWb",
        "https://www.instagram.com/p/DTA4-URETWb/",
        False,
        "wendys",
    ),
    (
        "https://m.instagram.com/p/DSGhrgIDmkP/",
        IG,
        "DSGhrgIDmkP",
        "https://www.instagram.com/p/DSGhrgIDmkP/",
        False,
        None,
    ),
    (
        "https://instagr.am/p/DSGhrgIDmkP/",
        IG,
        "DSGhrgIDmkP",
        "https://www.instagram.com/p/DSGhrgIDmkP/",
        False,
        None,
    ),
    (
        "https://www.instagram.com/p/DSGhrgIDmkP/?img_index=2",
        IG,
        "DSGhrgIDmkP",
        "https://www.instagram.com/p/DSGhrgIDmkP/",
        False,
        None,
    ),
    (
        "https://www.instagram.com/p/DSGhrgIDmkP/embed/captioned/",
        IG,
        "DSGhrgIDmkP",
        "https://www.instagram.com/p/DSGhrgIDmkP/",
        False,
        None,
    ),
    (
        "https://www.instagram.com/share/reel/BAHo2n7xUv/",
        IG,
        None,
        "https://www.instagram.com/share/reel/BAHo2n7xUv/",
        True,
        None,
    ),
    (
        "https://www.instagram.com/share/p/BAGsZ8WfE1/?igsh=abc",
        IG,
        None,
        "https://www.instagram.com/share/p/BAGsZ8WfE1/",
        True,
        None,
    ),
    ("instagram.com/share/_1a2B3c4D", IG, None, "https://www.instagram.com/share/_1a2B3c4D/", True, None),
    # --- YouTube
    (f"{YT_WATCH}dQw4w9WgXcQ", YT, "dQw4w9WgXcQ", f"{YT_WATCH}dQw4w9WgXcQ", False, None),
    ("youtube.com/watch?v=dQw4w9WgXcQ", YT, "dQw4w9WgXcQ", f"{YT_WATCH}dQw4w9WgXcQ", False, None),
    (
        "https://www.youtube.com/watch?feature=shared&v=dQw4w9WgXcQ",
        YT,
        "dQw4w9WgXcQ",
        f"{YT_WATCH}dQw4w9WgXcQ",
        False,
        None,
    ),
    (
        "https://www.youtube.com/watch?app=desktop&v=8HFBY9cudgM&t=42s",
        YT,
        "8HFBY9cudgM",
        f"{YT_WATCH}8HFBY9cudgM",
        False,
        None,
    ),
    (
        "https://www.youtube.com/watch?v=8HFBY9cudgM&list=PLFgquLnL59alCl_2TQvOiD5Vgm1hCaGSI&index=3",
        YT,
        "8HFBY9cudgM",
        f"{YT_WATCH}8HFBY9cudgM",
        False,
        None,
    ),
    ("https://m.youtube.com/watch?v=8HFBY9cudgM", YT, "8HFBY9cudgM", f"{YT_WATCH}8HFBY9cudgM", False, None),
    (
        "https://music.youtube.com/watch?v=8HFBY9cudgM&feature=share",
        YT,
        "8HFBY9cudgM",
        f"{YT_WATCH}8HFBY9cudgM",
        False,
        None,
    ),
    ("https://youtu.be/dQw4w9WgXcQ", YT, "dQw4w9WgXcQ", f"{YT_WATCH}dQw4w9WgXcQ", False, None),
    (
        "https://youtu.be/dQw4w9WgXcQ?si=AbCdEfGhIjKlMnOp",
        YT,
        "dQw4w9WgXcQ",
        f"{YT_WATCH}dQw4w9WgXcQ",
        False,
        None,
    ),
    ("youtu.be/dQw4w9WgXcQ?t=30", YT, "dQw4w9WgXcQ", f"{YT_WATCH}dQw4w9WgXcQ", False, None),
    ("https://www.youtube.com/shorts/aqz-KE-bpKQ", YT, "aqz-KE-bpKQ", f"{YT_WATCH}aqz-KE-bpKQ", False, None),
    (
        "https://youtube.com/shorts/aqz-KE-bpKQ?si=x7_Yq1Wv2Zs3Tt4U",
        YT,
        "aqz-KE-bpKQ",
        f"{YT_WATCH}aqz-KE-bpKQ",
        False,
        None,
    ),
    (
        "https://m.youtube.com/shorts/aqz-KE-bpKQ/?feature=share",
        YT,
        "aqz-KE-bpKQ",
        f"{YT_WATCH}aqz-KE-bpKQ",
        False,
        None,
    ),
    (
        "https://www.youtube.com/embed/jNQXAC9IVRw?start=10&autoplay=1",
        YT,
        "jNQXAC9IVRw",
        f"{YT_WATCH}jNQXAC9IVRw",
        False,
        None,
    ),
    (
        "https://www.youtube-nocookie.com/embed/jNQXAC9IVRw",
        YT,
        "jNQXAC9IVRw",
        f"{YT_WATCH}jNQXAC9IVRw",
        False,
        None,
    ),
    (
        "https://www.youtube.com/live/jNQXAC9IVRw?si=Qw3rTy",
        YT,
        "jNQXAC9IVRw",
        f"{YT_WATCH}jNQXAC9IVRw",
        False,
        None,
    ),
    ("https://www.youtube.com/v/jNQXAC9IVRw", YT, "jNQXAC9IVRw", f"{YT_WATCH}jNQXAC9IVRw", False, None),
    # --- X / Twitter
    (
        "https://x.com/PavlovicArc/status/1840503004857774267",
        X,
        "1840503004857774267",
        "https://x.com/pavlovicarc/status/1840503004857774267",
        False,
        "pavlovicarc",
    ),
    (
        "x.com/PavlovicArc/status/1840503004857774267",
        X,
        "1840503004857774267",
        "https://x.com/pavlovicarc/status/1840503004857774267",
        False,
        "pavlovicarc",
    ),
    (
        "https://twitter.com/PavlovicArc/status/1840503004857774267",
        X,
        "1840503004857774267",
        "https://x.com/pavlovicarc/status/1840503004857774267",
        False,
        "pavlovicarc",
    ),
    (
        f"https://www.twitter.com/elonmusk/status/{X_ID}?s=20&t=AbCdEfGhIjKlMn",
        X,
        X_ID,
        f"https://x.com/elonmusk/status/{X_ID}",
        False,
        "elonmusk",
    ),
    (
        f"https://mobile.twitter.com/elonmusk/status/{X_ID}",
        X,
        X_ID,
        f"https://x.com/elonmusk/status/{X_ID}",
        False,
        "elonmusk",
    ),
    (
        f"https://twitter.com/elonmusk/statuses/{X_ID}",
        X,
        X_ID,
        f"https://x.com/elonmusk/status/{X_ID}",
        False,
        "elonmusk",
    ),
    (f"https://x.com/i/status/{X_ID}", X, X_ID, f"https://x.com/i/status/{X_ID}", False, None),
    (f"https://twitter.com/i/web/status/{X_ID}", X, X_ID, f"https://x.com/i/status/{X_ID}", False, None),
    (
        f"https://x.com/elonmusk/status/{X_ID}/photo/1",
        X,
        X_ID,
        f"https://x.com/elonmusk/status/{X_ID}",
        False,
        "elonmusk",
    ),
    (
        f"https://x.com/elonmusk/status/{X_ID}/video/1",
        X,
        X_ID,
        f"https://x.com/elonmusk/status/{X_ID}",
        False,
        "elonmusk",
    ),
    (
        f"https://x.com/elonmusk/status/{X_ID}/",
        X,
        X_ID,
        f"https://x.com/elonmusk/status/{X_ID}",
        False,
        "elonmusk",
    ),
    (
        f"https://x.com/elonmusk/status/{X_ID}/analytics",
        X,
        X_ID,
        f"https://x.com/elonmusk/status/{X_ID}",
        False,
        "elonmusk",
    ),
    (
        f"https://fxtwitter.com/elonmusk/status/{X_ID}",
        X,
        X_ID,
        f"https://x.com/elonmusk/status/{X_ID}",
        False,
        "elonmusk",
    ),
    (
        f"https://vxtwitter.com/elonmusk/status/{X_ID}",
        X,
        X_ID,
        f"https://x.com/elonmusk/status/{X_ID}",
        False,
        "elonmusk",
    ),
    # --- Facebook: videos and reels have their id in the link; posts get a provisional one
    (
        "https://www.facebook.com/reel/870249871589843",
        FB,
        "870249871589843",
        "https://www.facebook.com/reel/870249871589843",
        False,
        None,
    ),
    (
        "facebook.com/reel/870249871589843/?mibextid=rS40aB7S9Ucbxw6v",
        FB,
        "870249871589843",
        "https://www.facebook.com/reel/870249871589843",
        False,
        None,
    ),
    (
        "https://m.facebook.com/reel/870249871589843?s=yWDuG2&fs=e",
        FB,
        "870249871589843",
        "https://www.facebook.com/reel/870249871589843",
        False,
        None,
    ),
    (FB_WATCH, FB, FB_VIDEO, FB_WATCH, False, None),
    (f"https://www.facebook.com/watch?v={FB_VIDEO}&ref=sharing", FB, FB_VIDEO, FB_WATCH, False, None),
    (f"https://www.facebook.com/watch/live/?v={FB_VIDEO}", FB, FB_VIDEO, FB_WATCH, False, None),
    (f"https://www.facebook.com/video.php?v={FB_VIDEO}", FB, FB_VIDEO, FB_WATCH, False, None),
    (f"https://www.facebook.com/NASA/videos/{FB_VIDEO}/", FB, FB_VIDEO, FB_WATCH, False, "nasa"),
    (
        f"https://www.facebook.com/NASA/videos/vb.54971236771/{FB_VIDEO}/?type=3",
        FB,
        FB_VIDEO,
        FB_WATCH,
        False,
        "nasa",
    ),
    (
        f"https://www.facebook.com/nasa/videos/apollo-11-anniversary/{FB_VIDEO}/",
        FB,
        FB_VIDEO,
        FB_WATCH,
        False,
        "nasa",
    ),
    (f"https://es-la.facebook.com/NASA/videos/{FB_VIDEO}/", FB, FB_VIDEO, FB_WATCH, False, "nasa"),
    (
        f"https://www.facebook.com/story.php?story_fbid=954933103991240&id={FB_OWNER}",
        FB,
        "954933103991240",
        f"https://www.facebook.com/{FB_OWNER}/posts/954933103991240",
        True,
        FB_OWNER,
    ),
    (
        f"https://m.facebook.com/story.php?story_fbid={PFBID}&id={FB_OWNER}&mibextid=Nif5oz",
        FB,
        PFBID,
        f"https://www.facebook.com/{FB_OWNER}/posts/{PFBID}",
        True,
        FB_OWNER,
    ),
    (
        f"https://www.facebook.com/permalink.php?story_fbid={PFBID}&id={FB_OWNER}",
        FB,
        PFBID,
        f"https://www.facebook.com/{FB_OWNER}/posts/{PFBID}",
        True,
        FB_OWNER,
    ),
    (
        f"https://www.facebook.com/{FB_OWNER}/posts/954933103991240",
        FB,
        "954933103991240",
        f"https://www.facebook.com/{FB_OWNER}/posts/954933103991240",
        True,
        FB_OWNER,
    ),
    (
        f"https://www.facebook.com/NASA/posts/{PFBID}/",
        FB,
        PFBID,
        f"https://www.facebook.com/nasa/posts/{PFBID}",
        True,
        "nasa",
    ),
    (
        "https://web.facebook.com/NASA/posts/954933103991240?_rdc=1&_rdr",
        FB,
        "954933103991240",
        "https://www.facebook.com/nasa/posts/954933103991240",
        True,
        "nasa",
    ),
    (
        "https://www.facebook.com/groups/1234567890123/posts/954933103991240/",
        FB,
        "954933103991240",
        "https://www.facebook.com/groups/1234567890123/posts/954933103991240",
        True,
        None,
    ),
    ("https://fb.watch/mNp3Qr_xYz/", FB, None, "https://fb.watch/mNp3Qr_xYz/", True, None),
    (
        "https://www.facebook.com/share/r/1AbCdEfGhJ/",
        FB,
        None,
        "https://www.facebook.com/share/r/1AbCdEfGhJ/",
        True,
        None,
    ),
    (
        "https://www.facebook.com/share/v/15XyZaBcDe/?mibextid=oFDknk",
        FB,
        None,
        "https://www.facebook.com/share/v/15XyZaBcDe/",
        True,
        None,
    ),
    (
        "https://m.facebook.com/share/p/1GqRsTuVwX/",
        FB,
        None,
        "https://www.facebook.com/share/p/1GqRsTuVwX/",
        True,
        None,
    ),
    (
        "https://www.facebook.com/share/19aBcDeFgH/",
        FB,
        None,
        "https://www.facebook.com/share/19aBcDeFgH/",
        True,
        None,
    ),
]


@pytest.mark.parametrize(("pasted", "platform", "external_id", "canonical", "needs_resolution", "handle"), ACCEPTED)
def test_pasted_post_link_is_understood(pasted, platform, external_id, canonical, needs_resolution, handle):
    assert parse_post_url(pasted) == ParsedPostUrl(
        platform=platform,
        external_id=external_id,
        canonical_url=canonical,
        needs_resolution=needs_resolution,
        handle=handle,
    )


def test_table_covers_every_platform_with_many_forms():
    assert len(ACCEPTED) >= 70
    assert {row[1] for row in ACCEPTED} == set(Platform)


@pytest.mark.parametrize("pasted", [row[0] for row in ACCEPTED])
def test_canonical_url_is_understood_as_the_same_post(pasted):
    first = parse_post_url(pasted)
    again = parse_post_url(first.canonical_url)
    assert (again.platform, again.external_id, again.canonical_url) == (
        first.platform,
        first.external_id,
        first.canonical_url,
    )


def test_short_links_have_no_id_until_the_first_scrape():
    for row in ACCEPTED:
        if row[2] is None:
            assert row[4] is True


LONG = "https://www.youtube.com/watch?v=dQw4w9WgXcQ&x=" + "a" * MAX_URL_LENGTH

# (pasted, fragment of the message, code)
REFUSED = [
    ("", "Paste the link of a post", "empty"),
    ("   ", "Paste the link of a post", "empty"),
    (
        "https://www.tiktok.com/@ohmyshop.store",
        "That looks like a TikTok profile page, not a video",
        "profile_page",
    ),
    ("tiktok.com/@ohmyshop.store?lang=en", "TikTok profile page", "profile_page"),
    ("https://www.instagram.com/wendys/", "Instagram profile page, not a post", "profile_page"),
    ("https://www.youtube.com/@MrBeast", "YouTube profile page, not a video", "profile_page"),
    ("https://www.youtube.com/channel/UCX6OQ3DkcsbYNE6H8uQQuVA", "YouTube profile page", "profile_page"),
    ("https://x.com/elonmusk", "X profile page", "profile_page"),
    ("https://twitter.com/elonmusk/media", "X profile page", "profile_page"),
    ("https://www.facebook.com/NASA", "Facebook profile page", "profile_page"),
    (f"https://www.facebook.com/profile.php?id={FB_OWNER}", "Facebook profile page", "profile_page"),
    ("https://vimeo.com/76979871", "vimeo.com, which we don't track", "unknown_site"),
    ("https://t.co/B2nhkd9yWc", "t.co, which we don't track", "unknown_site"),
    (f"https://tiktok.com.evil.example/@a/video/{TT_ID}", "only looks like TikTok", "lookalike_host"),
    (f"https://eviltiktok.com/@a/video/{TT_ID}", "only looks like TikTok", "lookalike_host"),
    ("https://x.com.evil.example/elonmusk/status/1728108619189874825", "only looks like X", "lookalike_host"),
    ("https://www.instagram-login.example/p/DSGhrgIDmkP/", "only looks like Instagram", "lookalike_host"),
    (f"https://www.tikt\u043ek.com/@a/video/{TT_ID}", "look-alike letters", "lookalike_host"),  # Cyrillic o
    (f"https://www.xn--tiktk-mye.com/@a/video/{TT_ID}", "look-alike letters", "lookalike_host"),
    (
        f"https://\uff54\uff49\uff4b\uff54\uff4f\uff4b.com/@a/video/{TT_ID}",
        "look-alike letters",
        "lookalike_host",
    ),  # full-width
    (f"https://user:pass@www.tiktok.com/@a/video/{TT_ID}", "user name or password", "credentials"),
    (f"https://www.tiktok.com@evil.example/@a/video/{TT_ID}", "user name or password", "credentials"),
    (f"user:pass@www.tiktok.com/@a/video/{TT_ID}", "user name or password", "credentials"),
    ("javascript:alert(document.cookie)", "Only web links are accepted", "scheme"),
    ("JavaScript://www.tiktok.com/%0aalert(1)", "Only web links are accepted", "scheme"),
    (f"ftp://www.tiktok.com/@a/video/{TT_ID}", "Only web links are accepted", "scheme"),
    ("data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==", "Only web links are accepted", "scheme"),
    ("mailto:creator@example.com", "Only web links are accepted", "scheme"),
    (f"https://www.tiktok.com:8443/@a/video/{TT_ID}", "port 8443", "port"),
    (f"www.tiktok.com:8080/@a/video/{TT_ID}", "port 8080", "port"),
    (f"http://www.tiktok.com:443/@a/video/{TT_ID}", "port 443", "port"),
    (LONG, f"at most {MAX_URL_LENGTH}", "too_long"),
    (f"https:/www.tiktok.com/@a/video/{TT_ID}", "not a complete web link", "malformed"),
    (
        f"check this out https://www.tiktok.com/@a/video/{TT_ID}",
        "spaces or invisible characters",
        "malformed",
    ),
    (f"https://www.tiktok.com/@ohmyshop.store/video/{TT_ID}\u200b", "invisible characters", "malformed"),
    ("https://www.tiktok.com/@ohmyshop.store/live", "doesn't point to a video", "not_a_post"),
    ("https://www.tiktok.com/@ohmyshop.store/video/notanumber", "doesn't point to a video", "not_a_post"),
    ("https://www.tiktok.com/explore", "doesn't point to a video", "not_a_post"),
    ("https://vm.tiktok.com/", "share link is incomplete", "not_a_post"),
    ("https://www.instagram.com/stories/wendys/3301234567890123456/", "story link", "not_a_post"),
    ("https://www.instagram.com/explore/tags/food/", "doesn't point to a post", "not_a_post"),
    ("https://www.instagram.com/reels/", "doesn't point to a post", "not_a_post"),
    ("https://www.youtube.com/watch?v=tooShort", "no valid video id", "not_a_post"),
    (
        "https://www.youtube.com/watch?list=PLFgquLnL59alCl_2TQvOiD5Vgm1hCaGSI",
        "no valid video id",
        "not_a_post",
    ),
    (
        "https://www.youtube.com/embed/videoseries?list=PLFgquLnL59alCl_2TQvOiD5Vgm1hCaGSI",
        "no valid video id",
        "not_a_post",
    ),
    (
        "https://www.youtube.com/playlist?list=PLFgquLnL59alCl_2TQvOiD5Vgm1hCaGSI",
        "doesn't point to a video",
        "not_a_post",
    ),
    ("https://x.com/elonmusk/status/notanumber", "doesn't point to a post", "not_a_post"),
    ("https://x.com/search?q=tracking", "doesn't point to a post", "not_a_post"),
    ("https://www.facebook.com/photo/?fbid=955713677246516", "Facebook photo link", "not_a_post"),
    ("https://www.facebook.com/watch/", "no video id", "not_a_post"),
    (
        "https://l.facebook.com/l.php?u=https%3A%2F%2Fevil.example",
        "Facebook address (l.facebook.com)",
        "not_a_post",
    ),
]


@pytest.mark.parametrize(("pasted", "fragment", "code"), REFUSED)
def test_refused_link_says_what_was_expected(pasted, fragment, code):
    with pytest.raises(PostUrlError) as refused:
        parse_post_url(pasted)
    assert fragment in refused.value.message
    assert refused.value.code == code
    assert "like https://" in refused.value.message  # always shows the form we wanted


def test_refusal_names_the_platform_when_the_link_was_recognisably_from_one():
    with pytest.raises(PostUrlError) as refused:
        parse_post_url("https://www.instagram.com/wendys/")
    assert refused.value.platform == Platform.INSTAGRAM


def test_refusal_is_a_value_error():
    with pytest.raises(ValueError):
        parse_post_url("https://example.com/")


# --- handles ----------------------------------------------------------------------------------

HANDLES = [
    (TT, "@OhMyShop.Store", "ohmyshop.store"),
    (TT, "  ohmyshop.store ", "ohmyshop.store"),
    (TT, "https://www.tiktok.com/@ohmyshop.store?lang=en", "ohmyshop.store"),
    (TT, "tiktok.com/@dancequeen_22/", "dancequeen_22"),
    (IG, "@Wendys", "wendys"),
    (IG, "https://www.instagram.com/wendys/?hl=en", "wendys"),
    (IG, "instagram.com/the.label_jenn", "the.label_jenn"),
    (YT, "@MrBeast", "mrbeast"),
    (YT, "https://www.youtube.com/@MrBeast/videos", "mrbeast"),
    (YT, "@Café-Crème", "café-crème"),
    (X, "@ElonMusk", "elonmusk"),
    (X, "https://twitter.com/elonmusk", "elonmusk"),
    (X, "x.com/PavlovicArc/", "pavlovicarc"),
    (FB, "NASA", "nasa"),
    (FB, "https://www.facebook.com/NASA/", "nasa"),
    (FB, f"https://www.facebook.com/profile.php?id={FB_OWNER}", FB_OWNER),
    (FB, f"https://www.facebook.com/p/The-Label-Jenn-{FB_OWNER}/", FB_OWNER),
    (FB, f"https://www.facebook.com/people/The-Label-Jenn/{FB_OWNER}/", FB_OWNER),
]


@pytest.mark.parametrize(("platform", "typed", "expected"), HANDLES)
def test_typed_handle_is_normalised(platform, typed, expected):
    assert parse_profile_handle(platform, typed) == expected


HANDLE_REFUSALS = [
    (TT, "", "Type your TikTok handle", "empty"),
    (TT, "@oh my shop", "not a valid TikTok handle", "invalid_handle"),
    (TT, "@" + "a" * 25, "2 to 24", "invalid_handle"),
    (IG, "wendys.", "not starting or ending with a dot", "invalid_handle"),
    (IG, "wen..dys", "not a valid Instagram handle", "invalid_handle"),
    (X, "@this_is_far_too_long", "up to 15", "invalid_handle"),
    (X, "elon-musk", "not a valid X handle", "invalid_handle"),
    (FB, "n_a_s_a", "2 to 50 letters, digits or dots", "invalid_handle"),
    (
        YT,
        "https://www.youtube.com/channel/UCX6OQ3DkcsbYNE6H8uQQuVA",
        "does not show your @handle",
        "not_a_profile",
    ),
    (
        TT,
        f"https://www.tiktok.com/@ohmyshop.store/video/{TT_ID}",
        "not a profile page on TikTok",
        "not_a_profile",
    ),
    (IG, "https://www.instagram.com/p/DSGhrgIDmkP/", "not a profile page on Instagram", "not_a_profile"),
    (X, "https://x.com/elonmusk/status/1728108619189874825", "not a profile page on X", "not_a_profile"),
    (TT, "https://www.instagram.com/wendys/", "you are linking a TikTok account", "wrong_platform"),
    (TT, "https://tiktok.com.evil.example/@ohmyshop.store", "only looks like TikTok", "lookalike_host"),
    (IG, "javascript:alert(1)//", "Only web links", "scheme"),
]


@pytest.mark.parametrize(("platform", "typed", "fragment", "code"), HANDLE_REFUSALS)
def test_refused_handle_says_what_was_expected(platform, typed, fragment, code):
    with pytest.raises(HandleError) as refused:
        parse_profile_handle(platform, typed)
    assert fragment in refused.value.message
    assert refused.value.code == code
