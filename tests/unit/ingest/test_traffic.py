from __future__ import annotations

import random

import pytest

from belvedere.ingest.enrich.known_sites import (
    EMAIL_DOMAINS,
    OTHER_DOMAINS,
    SEARCH_DOMAINS,
    SHOPPING_DOMAINS,
    SOCIAL_DOMAINS,
    VIDEO_DOMAINS,
)
from belvedere.ingest.enrich.traffic import (
    CHANNELS,
    CLICK_ID_PARAMS,
    PageInfo,
    classify_channel,
    parse_page,
    referrer_domain,
)


def channel(
    ref: str | None = None,
    source: str | None = None,
    medium: str | None = None,
    campaign: str | None = None,
    click: str | None = None,
) -> str:
    return classify_channel(
        referrer_domain=ref, utm_source=source, utm_medium=medium, utm_campaign=campaign, click_id=click
    )


# --------------------------------------------------------------------------------------------------------
# parse_page


def test_parse_page_full_url() -> None:
    info = parse_page(
        "https://WWW.Example.COM:8443/a/b/?utm_source=Google&utm_medium=CPC&utm_campaign=Summer%20Sale"
        "&utm_term=Red+Shoes&utm_content=Banner_A#top"
    )
    assert info == PageInfo(
        host="example.com",
        path="/a/b/",
        utm_source="google",
        utm_medium="cpc",
        utm_campaign="Summer Sale",
        utm_term="Red Shoes",
        utm_content="Banner_A",
        click_id=None,
    )


@pytest.mark.parametrize(
    ("url", "field", "expected"),
    [
        ("https://e.com/?utm_source=Newsletter", "utm_source", "newsletter"),
        ("https://e.com/?utm_medium=EMAIL", "utm_medium", "email"),
        ("https://e.com/?utm_campaign=Black%20Friday", "utm_campaign", "Black Friday"),
        ("https://e.com/?utm_term=Running+Shoes", "utm_term", "Running Shoes"),
        ("https://e.com/?utm_content=HeroCTA", "utm_content", "HeroCTA"),
        ("https://e.com/?utm_source=%20%20Bing%20", "utm_source", "bing"),
        ("https://e.com/?UTM_SOURCE=Twitter", "utm_source", "twitter"),
        ("https://e.com/?utm_source=a&utm_source=b", "utm_source", "a"),
        ("https://e.com/?utm_source=&utm_source=b", "utm_source", "b"),
        ("https://e.com/?utm_source=%20&utm_medium=x", "utm_source", None),
        ("https://e.com/?ref=ProductHunt", "utm_source", "producthunt"),
        ("https://e.com/?source=HN", "utm_source", "hn"),
        ("https://e.com/?ref=a&source=b", "utm_source", "a"),
        ("https://e.com/?source=b&ref=a", "utm_source", "a"),
        ("https://e.com/?ref=x&utm_source=Y", "utm_source", "y"),
        ("https://e.com/?utm_campaign=", "utm_campaign", None),
        ("https://e.com/?utm_campaign", "utm_campaign", None),
        ("https://e.com/?utm_term=%E2%82%AC100", "utm_term", "€100"),
        ("https://e.com/?utm_content=%zz", "utm_content", "%zz"),
        ("https://e.com/#x?utm_source=google", "utm_source", None),
    ],
)
def test_parse_page_utm_fields(url: str, field: str, expected: str | None) -> None:
    assert getattr(parse_page(url), field) == expected


def test_utm_values_truncated_to_200_chars() -> None:
    info = parse_page("https://e.com/?utm_campaign=" + "C" * 500 + "&utm_source=" + "S" * 300)
    assert info.utm_campaign == "C" * 200
    assert info.utm_source == "s" * 200


@pytest.mark.parametrize("name", CLICK_ID_PARAMS)
def test_each_click_id_is_detected(name: str) -> None:
    assert parse_page(f"https://e.com/landing?x=1&{name}=AbC123").click_id == name


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://e.com/?fbclid=1&gclid=2", "gclid"),
        ("https://e.com/?gclid=2&fbclid=1", "gclid"),
        ("https://e.com/?twclid=1&msclkid=2", "msclkid"),
        ("https://e.com/?GCLID=abc", "gclid"),
        ("https://e.com/?gclid=", None),
        ("https://e.com/?gclidx=1", None),
        ("https://e.com/?utm_source=google", None),
    ],
)
def test_click_id_priority_and_absence(url: str, expected: str | None) -> None:
    assert parse_page(url).click_id == expected


@pytest.mark.parametrize(
    ("url", "host", "path"),
    [
        ("https://www.example.com", "example.com", "/"),
        ("https://example.com?a=1", "example.com", "/"),
        ("https://example.com/docs/", "example.com", "/docs/"),
        ("https://example.com/docs", "example.com", "/docs"),
        ("HTTPS://EXAMPLE.COM/Docs", "example.com", "/Docs"),
        ("http://example.com:8080/x", "example.com", "/x"),
        ("http://example.com:abc/x", "example.com", "/x"),
        ("http://user:secret@www.example.com/x", "example.com", "/x"),
        ("http://example.com./x", "example.com", "/x"),
        ("http://ex%61mple.com/caf%C3%A9", "example.com", "/caf%C3%A9"),
        ("https://Bücher.DE/straße", "bücher.de", "/straße"),
        ("http://[2001:DB8::1]:8080/x", "2001:db8::1", "/x"),
        ("http://[::1]/", "::1", "/"),
        ("http://127.0.0.1:8000/admin", "127.0.0.1", "/admin"),
        ("//cdn.example.com/lib.js", "cdn.example.com", "/lib.js"),
        ("  https://example.com/x  ", "example.com", "/x"),
        ("https://www.blog.example.com/", "blog.example.com", "/"),
        ("https://wwwexample.com/", "wwwexample.com", "/"),
        ("/pricing?x=1", None, "/pricing"),
        ("/", None, "/"),
        ("http:///only-path", None, "/only-path"),
    ],
)
def test_parse_page_host_and_path(url: str, host: str | None, path: str | None) -> None:
    info = parse_page(url)
    assert (info.host, info.path) == (host, path)


def test_relative_url_keeps_utm() -> None:
    assert parse_page("/pricing?utm_source=Bing&gclid=1") == PageInfo(
        None, "/pricing", "bing", None, None, None, None, "gclid"
    )


@pytest.mark.parametrize(
    ("url", "host", "path"),
    [
        (None, None, None),
        ("", None, None),
        ("   ", None, None),
        ("::::", None, None),
        ("javascript:alert(1)", None, None),
        ("javascript:alert('?utm_source=x')", None, None),
        ("mailto:a@b.com?subject=hi", None, None),
        ("data:text/html,<b>hi</b>", None, None),
        ("http://[::1", None, "/"),
        ("http://[nothex]/x", None, "/x"),
        ("http://[", None, "/"),
        ("http://", None, "/"),
        ("http://:80/", None, "/"),
        ("http://exa mple.com/", None, "/"),
        ("http://exa<mple.com/", None, "/"),
        ("http://%zz/", None, "/"),
        ("http://%00example.com/", None, "/"),
        ("http://a" + "b" * 300 + ".com/", None, "/"),
        ("https://" + "a" * 100_000, None, "/"),
        ("pricing", None, None),
        ("?utm_source=x", None, None),
        ("\x00\x01\x02", None, None),
        ("http://\u200b/", None, "/"),
        ("1http://example.com", None, None),
    ],
)
def test_malformed_urls_do_not_raise(url: str | None, host: str | None, path: str | None) -> None:
    info = parse_page(url)
    assert (info.host, info.path) == (host, path)


def test_long_url_is_parsed_without_caching() -> None:
    url = "https://Example.com/" + "p" * 5000 + "?utm_source=Bing&utm_campaign=Q3&msclkid=1"
    assert parse_page(url) == PageInfo(
        "example.com", "/" + "p" * 5000, "bing", None, "Q3", None, None, "msclkid"
    )


def test_random_garbage_never_raises() -> None:
    rng = random.Random(20240601)
    pieces = [*"ab:/?#&=%@[]. -_+W1\x00\u00e9\u200b\\", "http://", "android-app://", "www.", "utm_source="]
    pieces += ["gclid=", "%zz", "%41", "[::1]", ":80", "google.co.uk"]
    channels = set()
    for _ in range(5000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randrange(30)))
        info = parse_page(text)
        domain = referrer_domain(text, info.host)
        assert info.host is None or (info.host == info.host.lower() and " " not in info.host)
        assert domain is None or (domain == domain.lower() and " " not in domain)
        channels.add(
            classify_channel(
                referrer_domain=domain,
                utm_source=info.utm_source,
                utm_medium=info.utm_medium,
                utm_campaign=info.utm_campaign,
                click_id=info.click_id,
            )
        )
    assert channels <= set(CHANNELS)
    assert "Direct" in channels


def test_very_long_query_is_parsed() -> None:
    url = "https://example.com/p?" + "&".join(f"k{i}=v{i}" for i in range(5000)) + "&utm_medium=Social"
    info = parse_page(url)
    assert (info.host, info.path, info.utm_medium) == ("example.com", "/p", "social")


def test_parse_page_is_deterministic_and_hashable() -> None:
    url = "https://example.com/?utm_source=x"
    assert parse_page(url) == parse_page(url)
    assert hash(parse_page(url)) == hash(parse_page(url))


# --------------------------------------------------------------------------------------------------------
# referrer_domain


@pytest.mark.parametrize(
    ("referrer", "page_host", "expected"),
    [
        ("https://www.google.com/", "example.com", "google.com"),
        ("https://WWW.Google.CO.UK/search?q=x", "example.com", "google.co.uk"),
        ("http://news.ycombinator.com:80/item?id=1", "example.com", "news.ycombinator.com"),
        ("https://user@blog.other.org:8443/post", "example.com", "blog.other.org"),
        ("android-app://com.google.android.gm/", "example.com", "com.google.android.gm"),
        ("https://[2001:db8::2]/", "example.com", "2001:db8::2"),
        ("https://t.co/abc", None, "t.co"),
        ("https://t.co/abc", "", "t.co"),
        # self-referrals are internal navigation
        ("https://example.com/pricing", "example.com", None),
        ("https://www.example.com/pricing", "example.com", None),
        ("https://EXAMPLE.com:443/", "example.com", None),
        ("https://example.com/", "WWW.Example.com", None),
        ("https://shop.example.com/", "example.com", "shop.example.com"),
        # not http(s)/android-app, or unusable
        ("ftp://files.example.org/", "example.com", None),
        ("file:///home/me/page.html", "example.com", None),
        ("chrome-extension://abcdef/popup.html", "example.com", None),
        ("javascript:void(0)", "example.com", None),
        ("//cdn.other.org/x", "example.com", None),
        ("/relative/path", "example.com", None),
        ("other.org", "example.com", None),
        ("http://[::1", "example.com", None),
        ("::::", "example.com", None),
        ("https://", "example.com", None),
        ("", "example.com", None),
        (None, "example.com", None),
        ("https://" + "x" * 10_000, "example.com", None),
    ],
)
def test_referrer_domain(referrer: str | None, page_host: str | None, expected: str | None) -> None:
    assert referrer_domain(referrer, page_host) == expected


# --------------------------------------------------------------------------------------------------------
# classify_channel

CASES: list[tuple[dict[str, str | None], str]] = [
    # Direct
    ({}, "Direct"),
    ({"ref": "", "source": "  "}, "Direct"),
    # Cross-network (beats the paid rules)
    ({"source": "google", "medium": "cpc", "campaign": "PMax-Cross-Network-Q3"}, "Cross-network"),
    # Paid Shopping
    ({"source": "google", "medium": "cpc", "campaign": "shopping-feed"}, "Paid Shopping"),
    ({"source": "amazon", "medium": "cpc"}, "Paid Shopping"),
    ({"ref": "amazon.co.uk", "click": "gclid"}, "Paid Shopping"),
    ({"source": "adnet", "medium": "ppc", "campaign": "eshop_q3"}, "Paid Shopping"),
    ({"source": "adnet", "medium": "ppc", "campaign": "spring_shop"}, "Paid Shopping"),
    # Paid Search
    ({"source": "google", "medium": "cpc"}, "Paid Search"),
    ({"source": "Bing", "medium": "PPC"}, "Paid Search"),
    ({"source": "google", "medium": "cpm"}, "Paid Search"),
    ({"click": "gclid"}, "Paid Search"),
    ({"click": "gbraid"}, "Paid Search"),
    ({"click": "wbraid"}, "Paid Search"),
    ({"click": "msclkid"}, "Paid Search"),
    ({"click": "dclid"}, "Paid Search"),
    ({"ref": "google.com.br", "click": "gclid"}, "Paid Search"),
    ({"ref": "bing.com", "click": "msclkid"}, "Paid Search"),
    ({"ref": "randomblog.net", "click": "gclid"}, "Paid Search"),
    ({"source": "duckduckgo.com", "medium": "paidsearch"}, "Paid Search"),
    # Paid Social
    ({"source": "facebook", "medium": "paid_social"}, "Paid Social"),
    ({"source": "fb", "medium": "cpc"}, "Paid Social"),
    ({"click": "fbclid", "medium": "cpc"}, "Paid Social"),
    ({"click": "ttclid"}, "Paid Social"),
    ({"click": "li_fat_id"}, "Paid Social"),
    ({"click": "twclid"}, "Paid Social"),
    ({"ref": "linkedin.com", "source": "linkedin", "medium": "retargeting"}, "Paid Social"),
    # Paid Video
    ({"source": "youtube", "medium": "cpv"}, "Paid Video"),
    ({"ref": "m.youtube.com", "click": "gclid"}, "Paid Video"),
    # Display
    ({"source": "criteo", "medium": "display"}, "Display"),
    ({"source": "criteo", "medium": "Banner"}, "Display"),
    ({"source": "adnet", "medium": "interstitial"}, "Display"),
    ({"source": "adnet", "medium": "expandable"}, "Display"),
    ({"source": "criteo", "medium": "cpm"}, "Display"),
    ({"source": "google", "medium": "display"}, "Display"),
    # Paid Other
    ({"source": "adnet", "medium": "cpc"}, "Paid Other"),
    ({"source": "adnet", "medium": "retargeting"}, "Paid Other"),
    ({"medium": "paid"}, "Paid Other"),
    ({"source": "adnet", "medium": "cpc", "campaign": "workshop-promo"}, "Paid Other"),
    # Organic Shopping
    ({"ref": "amazon.de"}, "Organic Shopping"),
    ({"ref": "ebay.co.uk"}, "Organic Shopping"),
    ({"ref": "etsy.com"}, "Organic Shopping"),
    ({"ref": "shopping.google.com"}, "Organic Shopping"),
    ({"source": "etsy"}, "Organic Shopping"),
    ({"campaign": "summer-shop"}, "Organic Shopping"),
    # Organic Social
    ({"ref": "t.co"}, "Organic Social"),
    ({"ref": "l.facebook.com"}, "Organic Social"),
    ({"ref": "lm.facebook.com"}, "Organic Social"),
    ({"ref": "old.reddit.com"}, "Organic Social"),
    ({"ref": "news.ycombinator.com"}, "Organic Social"),
    ({"ref": "pinterest.fr"}, "Organic Social"),
    ({"ref": "com.reddit.frontpage"}, "Organic Social"),
    ({"ref": "bsky.app"}, "Organic Social"),
    ({"source": "ig"}, "Organic Social"),
    ({"source": "LinkedIn", "medium": "post"}, "Organic Social"),
    ({"source": "partner", "medium": "social"}, "Organic Social"),
    ({"source": "partner", "medium": "Social Media"}, "Organic Social"),
    ({"source": "partner", "medium": "sm"}, "Organic Social"),
    ({"click": "fbclid"}, "Organic Social"),
    ({"ref": "facebook.com", "click": "fbclid"}, "Organic Social"),
    ({"ref": "tiktok.com"}, "Organic Social"),
    # Organic Video
    ({"ref": "youtube.com"}, "Organic Video"),
    ({"ref": "youtu.be"}, "Organic Video"),
    ({"ref": "player.vimeo.com"}, "Organic Video"),
    ({"source": "twitch"}, "Organic Video"),
    ({"source": "partner", "medium": "video"}, "Organic Video"),
    # Organic Search
    ({"ref": "google.com"}, "Organic Search"),
    ({"ref": "google.co.uk"}, "Organic Search"),
    ({"ref": "google.com.br"}, "Organic Search"),
    ({"ref": "google.de"}, "Organic Search"),
    ({"ref": "yandex.ru"}, "Organic Search"),
    ({"ref": "yandex.kz"}, "Organic Search"),
    ({"ref": "search.yahoo.com"}, "Organic Search"),
    ({"ref": "uk.search.yahoo.com"}, "Organic Search"),
    ({"ref": "search.yahoo.co.jp"}, "Organic Search"),
    ({"ref": "duckduckgo.com"}, "Organic Search"),
    ({"ref": "search.brave.com"}, "Organic Search"),
    ({"ref": "cn.bing.com"}, "Organic Search"),
    ({"ref": "com.google.android.googlequicksearchbox"}, "Organic Search"),
    ({"ref": "fr.search.yahoo.com", "click": "fbclid"}, "Organic Search"),
    ({"source": "google"}, "Organic Search"),
    ({"source": "partner", "medium": "organic"}, "Organic Search"),
    # Email
    ({"ref": "mail.google.com"}, "Email"),
    ({"ref": "mail.yahoo.com"}, "Email"),
    ({"ref": "outlook.live.com"}, "Email"),
    ({"ref": "com.google.android.gm"}, "Email"),
    ({"ref": "mail.yandex.ru"}, "Email"),
    ({"ref": "mail.yahoo.co.jp"}, "Email"),
    ({"source": "newsletter"}, "Email"),
    ({"source": "weekly_newsletter", "medium": "link"}, "Email"),
    ({"source": "acme", "medium": "E-Mail"}, "Email"),
    ({"source": "acme", "medium": "e_mail"}, "Email"),
    ({"source": "acme", "medium": "e mail"}, "Email"),
    ({"source": "acme", "medium": "email"}, "Email"),
    ({"source": "Email"}, "Email"),
    ({"ref": "mail.google.com", "source": "acme", "medium": "blast"}, "Email"),
    # Affiliate
    ({"source": "partner", "medium": "affiliate"}, "Affiliate"),
    # Referral
    ({"ref": "example.org"}, "Referral"),
    ({"ref": "yahoo.com"}, "Referral"),
    ({"ref": "chatgpt.com"}, "Referral"),
    ({"ref": "perplexity.ai"}, "Referral"),
    ({"ref": "google.evil.com"}, "Referral"),
    ({"ref": "notgoogle.com"}, "Referral"),
    ({"ref": "docs.google.com"}, "Referral"),
    ({"ref": "play.google.com"}, "Referral"),
    ({"ref": "randomblog.net", "click": "fbclid"}, "Referral"),
    ({"ref": "example.org", "campaign": "spring"}, "Referral"),
    ({"source": "partner", "medium": "referral"}, "Referral"),
    ({"source": "partner", "medium": "app"}, "Referral"),
    ({"source": "partner", "medium": "link"}, "Referral"),
    # Audio
    ({"source": "spotify", "medium": "audio"}, "Audio"),
    # SMS
    ({"source": "sms"}, "SMS"),
    ({"source": "twilio", "medium": "SMS"}, "SMS"),
    # Mobile Push
    ({"source": "onesignal", "medium": "web-push"}, "Mobile Push"),
    ({"source": "acme", "medium": "mobile"}, "Mobile Push"),
    ({"source": "acme", "medium": "notification"}, "Mobile Push"),
    ({"source": "firebase"}, "Mobile Push"),
    # Unassigned
    ({"source": "partner", "medium": "weird"}, "Unassigned"),
    ({"source": "partner"}, "Unassigned"),
    ({"campaign": "spring"}, "Unassigned"),
    ({"ref": "example.org", "source": "partner", "medium": "weird"}, "Unassigned"),
]


@pytest.mark.parametrize(("kwargs", "expected"), CASES)
def test_classify_channel(kwargs: dict[str, str | None], expected: str) -> None:
    assert channel(**kwargs) == expected


def test_every_channel_is_reachable() -> None:
    reached = {expected for kwargs, expected in CASES if channel(**kwargs) == expected}
    assert reached == set(CHANNELS)


def test_channels_tuple() -> None:
    assert len(CHANNELS) == 19
    assert len(set(CHANNELS)) == 19
    assert CHANNELS[0] == "Direct"
    assert "Unassigned" in CHANNELS


def test_huge_values_are_classified_without_caching() -> None:
    assert channel(source="google", medium="cpc", campaign="x" * 5000 + "-cross-network") == "Cross-network"
    assert channel(ref="a" * 3000 + ".example.org") == "Referral"


def test_classify_is_deterministic() -> None:
    results = {channel(ref="google.co.uk", source=None, medium=None) for _ in range(100)}
    assert results == {"Organic Search"}


# --------------------------------------------------------------------------------------------------------
# End to end: parse_page + referrer_domain + classify_channel


@pytest.mark.parametrize(
    ("page", "referrer", "expected"),
    [
        ("https://shop.io/", None, "Direct"),
        ("https://shop.io/cart", "https://shop.io/", "Direct"),
        ("https://shop.io/", "https://www.google.fr/", "Organic Search"),
        ("https://shop.io/?gclid=xyz", "https://www.google.fr/", "Paid Search"),
        ("https://shop.io/?fbclid=abc", "https://l.facebook.com/", "Organic Social"),
        ("https://shop.io/?utm_source=Newsletter&utm_medium=email", "https://mail.google.com/", "Email"),
        ("https://shop.io/?utm_source=FB&utm_medium=Paid_Social&utm_campaign=Launch", None, "Paid Social"),
        ("https://shop.io/?ref=producthunt", None, "Organic Social"),
        ("https://shop.io/", "android-app://com.google.android.gm/", "Email"),
        ("https://shop.io/", "https://mail.yahoo.com/d/folders/1", "Email"),
        ("https://shop.io/", "https://search.yahoo.com/search?p=x", "Organic Search"),
        ("https://shop.io/", "https://blog.example.org/post", "Referral"),
    ],
)
def test_end_to_end(page: str, referrer: str | None, expected: str) -> None:
    info = parse_page(page)
    assert (
        classify_channel(
            referrer_domain=referrer_domain(referrer, info.host),
            utm_source=info.utm_source,
            utm_medium=info.utm_medium,
            utm_campaign=info.utm_campaign,
            click_id=info.click_id,
        )
        == expected
    )


# --------------------------------------------------------------------------------------------------------
# Known-site tables


def test_known_site_tables_are_disjoint_and_large_enough() -> None:
    tables = [SEARCH_DOMAINS, SOCIAL_DOMAINS, VIDEO_DOMAINS, SHOPPING_DOMAINS, EMAIL_DOMAINS, OTHER_DOMAINS]
    total = sum(len(t) for t in tables)
    assert len(frozenset().union(*tables)) == total
    assert len(SEARCH_DOMAINS) >= 25
    assert len(SOCIAL_DOMAINS) >= 40
    assert "chatgpt.com" not in SEARCH_DOMAINS
    assert "perplexity.ai" not in SEARCH_DOMAINS
