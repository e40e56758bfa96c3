"""Known-site tables used to group traffic into channels.

Hosts are matched label by label against these tables: ``"google.com"`` matches ``google.com`` and any
subdomain of it (``images.google.com``), and the most specific entry wins, so ``mail.google.com`` (webmail)
beats ``google.com`` (search). Android app ids (``android-app://`` referrers) are listed as if they were
hosts. Brand tables catch country variants such as ``google.co.uk`` or ``amazon.de``.

utm_source values are matched against the ``*_SOURCES`` name tables first and, when they look like a
domain, against the domain tables.
"""

from __future__ import annotations

SEARCH = "search"
SOCIAL = "social"
VIDEO = "video"
SHOPPING = "shopping"
EMAIL = "email"
OTHER = ""  # explicitly not a known site of any kind (ordinary referral)

SEARCH_DOMAINS: frozenset[str] = frozenset(
    {
        "google.com",
        "com.google.android.googlequicksearchbox",
        "bing.com",
        "search.yahoo.com",
        "search.yahoo.co.jp",
        "yandex.ru",
        "yandex.com",
        "yandex.com.tr",
        "ya.ru",
        "baidu.com",
        "duckduckgo.com",
        "ecosia.org",
        "qwant.com",
        "startpage.com",
        "search.brave.com",
        "naver.com",
        "seznam.cz",
        "sogou.com",
        "so.com",
        "ask.com",
        "search.aol.com",
        "daum.net",
        "coccoc.com",
        "kagi.com",
        "mojeek.com",
        "metager.org",
        "swisscows.com",
        "presearch.com",
        "dogpile.com",
        "webcrawler.com",
        "search.lycos.com",
        "go.mail.ru",
        "petalsearch.com",
        "search.goo.ne.jp",
        "yep.com",
    }
)

SOCIAL_DOMAINS: frozenset[str] = frozenset(
    {
        "facebook.com",
        "m.facebook.com",
        "l.facebook.com",
        "lm.facebook.com",
        "fb.com",
        "fb.me",
        "messenger.com",
        "com.facebook.katana",
        "instagram.com",
        "l.instagram.com",
        "com.instagram.android",
        "t.co",
        "twitter.com",
        "x.com",
        "com.twitter.android",
        "linkedin.com",
        "lnkd.in",
        "com.linkedin.android",
        "reddit.com",
        "old.reddit.com",
        "out.reddit.com",
        "redd.it",
        "com.reddit.frontpage",
        "pinterest.com",
        "pin.it",
        "tiktok.com",
        "com.zhiliaoapp.musically",
        "snapchat.com",
        "tumblr.com",
        "vk.com",
        "vk.ru",
        "ok.ru",
        "weibo.com",
        "weibo.cn",
        "threads.net",
        "threads.com",
        "bsky.app",
        "mastodon.social",
        "mastodon.online",
        "news.ycombinator.com",
        "discord.com",
        "discord.gg",
        "discordapp.com",
        "telegram.org",
        "t.me",
        "org.telegram.messenger",
        "whatsapp.com",
        "wa.me",
        "quora.com",
        "medium.com",
        "slack.com",
        "producthunt.com",
        "xing.com",
        "line.me",
        "kakao.com",
        "douban.com",
        "zhihu.com",
        "meetup.com",
        "nextdoor.com",
        "stackoverflow.com",
        "stackexchange.com",
        "dev.to",
        "lobste.rs",
        "flipboard.com",
        "disqus.com",
        "goodreads.com",
        "deviantart.com",
        "behance.net",
        "dribbble.com",
    }
)

VIDEO_DOMAINS: frozenset[str] = frozenset(
    {
        "youtube.com",
        "m.youtube.com",
        "youtu.be",
        "youtube-nocookie.com",
        "com.google.android.youtube",
        "vimeo.com",
        "twitch.tv",
        "dailymotion.com",
        "dai.ly",
        "bilibili.com",
        "b23.tv",
        "rumble.com",
        "odysee.com",
        "wistia.com",
        "nicovideo.jp",
        "youku.com",
        "iqiyi.com",
        "ted.com",
        "vkvideo.ru",
    }
)

SHOPPING_DOMAINS: frozenset[str] = frozenset(
    {
        "amazon.com",
        "ebay.com",
        "etsy.com",
        "shopify.com",
        "shop.app",
        "aliexpress.com",
        "alibaba.com",
        "walmart.com",
        "shopping.google.com",
        "target.com",
        "bestbuy.com",
        "temu.com",
        "shein.com",
        "wish.com",
        "wayfair.com",
        "flipkart.com",
        "otto.de",
        "bol.com",
        "jd.com",
        "taobao.com",
        "tmall.com",
        "mercadolibre.com",
        "rakuten.com",
        "allegro.pl",
    }
)

# Webmail front-ends: a visit referred by one of these came from an email someone opened.
EMAIL_DOMAINS: frozenset[str] = frozenset(
    {
        "mail.google.com",
        "inbox.google.com",
        "com.google.android.gm",
        "outlook.live.com",
        "outlook.office.com",
        "outlook.office365.com",
        "com.microsoft.office.outlook",
        "mail.yahoo.com",
        "com.yahoo.mobile.client.android.mail",
        "mail.aol.com",
        "mail.proton.me",
        "mail.protonmail.com",
        "mail.zoho.com",
        "mail.zoho.eu",
        "e.mail.ru",
        "mail.yandex.ru",
        "mail.yandex.com",
        "mail.naver.com",
        "mail.qq.com",
        "mail.163.com",
        "navigator.gmx.net",
        "navigator.web.de",
        "app.fastmail.com",
        "app.tuta.com",
        "list-manage.com",
        "mailchi.mp",
    }
)

# Subdomains of the sites above that are not what their parent is: Google Docs is not a search engine.
OTHER_DOMAINS: frozenset[str] = frozenset(
    {
        "docs.google.com",
        "drive.google.com",
        "sites.google.com",
        "groups.google.com",
        "accounts.google.com",
        "calendar.google.com",
        "support.google.com",
        "developers.google.com",
        "cloud.google.com",
        "play.google.com",
        "ads.google.com",
        "analytics.google.com",
        "business.facebook.com",
        "developers.facebook.com",
    }
)

# Brand labels that identify a site under any country suffix, e.g. "google" in google.com.br.
# Two-label keys ("search.yahoo") must appear right before the suffix.
SEARCH_BRANDS: frozenset[str] = frozenset(
    {"google", "bing", "yandex", "baidu", "search.yahoo", "ecosia", "qwant", "naver", "seznam", "startpage"}
)
SOCIAL_BRANDS: frozenset[str] = frozenset({"facebook", "pinterest", "linkedin", "twitter", "instagram"})
VIDEO_BRANDS: frozenset[str] = frozenset({"youtube", "dailymotion", "vimeo"})
SHOPPING_BRANDS: frozenset[str] = frozenset(
    {"amazon", "ebay", "zalando", "idealo", "mercadolibre", "mercadolivre", "rakuten", "allegro", "etsy"}
)
EMAIL_BRANDS: frozenset[str] = frozenset({"mail.yahoo", "mail.yandex", "mail.google"})

# Second-level labels that commonly sit between a brand and a country code (google.co.uk, google.com.br).
SECOND_LEVEL_LABELS: frozenset[str] = frozenset(
    {"co", "com", "net", "org", "ac", "gov", "edu", "ne", "or", "go", "gob", "gv", "in"}
)

# Bare utm_source names (already lower-cased).
SEARCH_SOURCES: frozenset[str] = frozenset(
    {
        "google",
        "bing",
        "yahoo",
        "duckduckgo",
        "ddg",
        "yandex",
        "baidu",
        "ecosia",
        "qwant",
        "startpage",
        "brave",
        "naver",
        "seznam",
        "sogou",
        "ask",
        "aol",
        "kagi",
        "adwords",
        "google ads",
        "google_ads",
        "googleads",
        "microsoft ads",
    }
)
SOCIAL_SOURCES: frozenset[str] = frozenset(
    {
        "facebook",
        "fb",
        "meta",
        "ig",
        "instagram",
        "twitter",
        "x",
        "linkedin",
        "reddit",
        "pinterest",
        "tiktok",
        "snapchat",
        "tumblr",
        "vk",
        "weibo",
        "threads",
        "bluesky",
        "bsky",
        "mastodon",
        "hackernews",
        "hacker news",
        "hn",
        "discord",
        "telegram",
        "whatsapp",
        "quora",
        "medium",
        "slack",
        "producthunt",
        "messenger",
        "line",
    }
)
VIDEO_SOURCES: frozenset[str] = frozenset(
    {"youtube", "yt", "vimeo", "twitch", "dailymotion", "bilibili", "rumble", "wistia"}
)
SHOPPING_SOURCES: frozenset[str] = frozenset(
    {"amazon", "ebay", "etsy", "shopify", "aliexpress", "walmart", "google shopping", "temu", "shein"}
)
EMAIL_SOURCES: frozenset[str] = frozenset({"newsletter", "gmail", "outlook", "mailchimp", "klaviyo"})

# Ad click-id query parameters in priority order (when a URL carries several, the first listed wins), each
# with the kind of network it implies when the visit has no recognisable source of its own. fbclid maps to
# None: Facebook appends it to ordinary outbound links too, so alone it only says "came from Facebook".
CLICK_ID_KINDS: dict[str, str | None] = {
    "gclid": SEARCH,
    "gbraid": SEARCH,
    "wbraid": SEARCH,
    "msclkid": SEARCH,
    "fbclid": None,
    "ttclid": SOCIAL,
    "li_fat_id": SOCIAL,
    "twclid": SOCIAL,
    "dclid": SEARCH,
}

# utm_medium values (lower-cased) with a fixed meaning in the channel rules.
SOCIAL_MEDIUMS: frozenset[str] = frozenset(
    {"social", "social-network", "social-media", "sm", "social network", "social media"}
)
DISPLAY_MEDIUMS: frozenset[str] = frozenset({"display", "banner", "expandable", "interstitial", "cpm"})
REFERRAL_MEDIUMS: frozenset[str] = frozenset({"referral", "app", "link"})


def _kind_map(*tables: tuple[frozenset[str], str]) -> dict[str, str]:
    merged: dict[str, str] = {}
    for names, kind in tables:
        for name in names:
            merged[name] = kind
    return merged


DOMAIN_KINDS: dict[str, str] = _kind_map(
    (SEARCH_DOMAINS, SEARCH),
    (SOCIAL_DOMAINS, SOCIAL),
    (VIDEO_DOMAINS, VIDEO),
    (SHOPPING_DOMAINS, SHOPPING),
    (EMAIL_DOMAINS, EMAIL),
    (OTHER_DOMAINS, OTHER),
)
BRAND_KINDS: dict[str, str] = _kind_map(
    (SEARCH_BRANDS, SEARCH),
    (SOCIAL_BRANDS, SOCIAL),
    (VIDEO_BRANDS, VIDEO),
    (SHOPPING_BRANDS, SHOPPING),
    (EMAIL_BRANDS, EMAIL),
)
SOURCE_KINDS: dict[str, str] = _kind_map(
    (SEARCH_SOURCES, SEARCH),
    (SOCIAL_SOURCES, SOCIAL),
    (VIDEO_SOURCES, VIDEO),
    (SHOPPING_SOURCES, SHOPPING),
    (EMAIL_SOURCES, EMAIL),
)
