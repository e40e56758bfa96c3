"""Traffic-source enrichment: page URL parsing, referrer normalisation and channel grouping.

Everything here is pure and runs on the ingest hot path, so parsing is done with plain ``str`` methods and
the expensive steps are memoised with ``functools.lru_cache``. Nothing in this module raises on bad input:
malformed values come back as ``None``. See ``docs/channels.md`` for the user-facing description.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import unquote, unquote_plus

from belvedere.ingest.enrich.known_sites import (
    BRAND_KINDS,
    CLICK_ID_KINDS,
    DISPLAY_MEDIUMS,
    DOMAIN_KINDS,
    EMAIL,
    REFERRAL_MEDIUMS,
    SEARCH,
    SECOND_LEVEL_LABELS,
    SHOPPING,
    SOCIAL,
    SOCIAL_MEDIUMS,
    SOURCE_KINDS,
    VIDEO,
)

__all__ = ["CHANNELS", "CLICK_ID_PARAMS", "PageInfo", "classify_channel", "parse_page", "referrer_domain"]


@dataclass(frozen=True, slots=True)
class PageInfo:
    host: str | None  # lower-case, no "www." and no port; None for relative or malformed URLs
    path: str | None  # as sent (still percent-encoded), "/" when empty; no query string or fragment
    utm_source: str | None  # lower-cased; falls back to the ref= and then source= parameters
    utm_medium: str | None  # lower-cased
    utm_campaign: str | None  # case kept; every utm value is stripped and cut to 200 characters
    utm_term: str | None
    utm_content: str | None
    click_id: str | None  # name of the ad click-id parameter present (see CLICK_ID_PARAMS), if any


CHANNELS: tuple[str, ...] = (
    "Direct",
    "Organic Search",
    "Paid Search",
    "Organic Social",
    "Paid Social",
    "Organic Video",
    "Paid Video",
    "Email",
    "Affiliate",
    "Referral",
    "Display",
    "Paid Other",
    "Organic Shopping",
    "Paid Shopping",
    "SMS",
    "Audio",
    "Mobile Push",
    "Cross-network",
    "Unassigned",
)

CLICK_ID_PARAMS: tuple[str, ...] = tuple(CLICK_ID_KINDS)
_PAID_CLICK_IDS: dict[str, str] = {name: kind for name, kind in CLICK_ID_KINDS.items() if kind}

_MAX_UTM = 200
_MAX_HOST = 253
_CACHE_MAX_URL = 2048  # longer inputs are parsed without being memoised
_EMPTY_PAGE = PageInfo(None, None, None, None, None, None, None, None)
_REFERRER_SCHEMES = frozenset({"http", "https", "android-app"})
_SCHEME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-.")
_BAD_HOST_CHARS = frozenset(" \t\r\n<>\"'{}|\\^`[]@/?#%,;=()*!$&")
_IPV6_CHARS = frozenset("0123456789abcdef:.")

# Query parameters copied into PageInfo -> whether the value is lower-cased. utm_source beats ref, which
# beats source.
_FIELD_LOWERED: dict[str, bool] = {"utm_source": True, "utm_medium": True, "ref": True, "source": True}
_FIELD_LOWERED |= {"utm_campaign": False, "utm_term": False, "utm_content": False}
_CLICK_RANK: dict[str, int] = {name: rank for rank, name in enumerate(CLICK_ID_PARAMS)}


# --------------------------------------------------------------------------------------------------------
# URL parsing


def _split_scheme(url: str) -> tuple[str | None, str]:
    """Return (lower-case scheme or None, remainder). Only RFC 3986-shaped schemes count."""
    colon = url.find(":")
    if colon <= 0 or not url[0].isascii() or not url[0].isalpha():
        return None, url
    scheme = url[:colon]
    if not _SCHEME_CHARS.issuperset(scheme):
        return None, url
    return scheme.lower(), url[colon + 1 :]


def _clean_host(authority: str) -> str | None:
    """Normalise an authority (``user@host:port``) to a bare lower-case host, or None if it is malformed."""
    host = authority.rpartition("@")[2] if "@" in authority else authority
    if host[:1] == "[":
        inside, bracket, _ = host[1:].partition("]")
        inside = inside.partition("%")[0].lower()
        if not bracket or ":" not in inside or not _IPV6_CHARS.issuperset(inside):
            return None
        return inside
    if ":" in host:
        host = host.partition(":")[0]
    if "%" in host:
        host = unquote(host)
    host = host.strip().rstrip(".").lower()
    if not host or len(host) > _MAX_HOST or not host.isprintable() or not _BAD_HOST_CHARS.isdisjoint(host):
        return None
    if host.startswith("www.") and len(host) > 4:
        host = host[4:]
    return host


def _split_base(base: str) -> tuple[str | None, str | None, bool]:
    """Split the part of a URL before "?" into (host, path, whether a query string may follow)."""
    scheme, rest = _split_scheme(base)
    if rest.startswith("//"):
        authority, slash, path = rest[2:].partition("/")
        return _clean_host(authority), slash + path or "/", True
    if rest.startswith("/"):
        return None, rest, True
    # An opaque URL (javascript:, mailto:, data:) has no query of ours; a bare word has no path.
    return None, None, scheme is None


_split_base_cached = lru_cache(maxsize=4096)(_split_base)
_page_info = lru_cache(maxsize=4096)(PageInfo)


@lru_cache(maxsize=2048)
def _query_key(raw: str) -> str:
    return unquote_plus(raw).strip().lower() if len(raw) <= 64 else ""


def _parse_query(query: str) -> dict[str, str]:
    """Pick the tracking parameters out of a query string (first non-empty value wins)."""
    found: dict[str, str] = {}
    click_rank = len(CLICK_ID_PARAMS)
    for pair in query.split("&"):
        key, _, value = pair.partition("=")
        if not value:
            continue
        lower = _FIELD_LOWERED.get(key)
        if lower is None:
            rank = _CLICK_RANK.get(key)
            if rank is None:
                key = _query_key(key)
                lower, rank = _FIELD_LOWERED.get(key), _CLICK_RANK.get(key)
            if rank is not None:
                click_rank = min(rank, click_rank)
                continue
            if lower is None:
                continue
        if key in found:
            continue
        if "%" in value or "+" in value:
            value = unquote_plus(value)
        value = value.strip()
        if len(value) > _MAX_UTM:
            value = value[:_MAX_UTM].rstrip()
        if value:
            found[key] = value.lower() if lower else value
    if click_rank < len(CLICK_ID_PARAMS):
        found["click_id"] = CLICK_ID_PARAMS[click_rank]
    return found


def _parse_page(url: str) -> PageInfo:
    base, _, query = url.strip().partition("#")[0].partition("?")
    # The part before "?" repeats far more often than whole URLs (click ids are unique per visit).
    make: Callable[..., PageInfo]
    if len(url) > _CACHE_MAX_URL:  # never keep huge strings alive in a cache
        make, (host, path, has_query) = PageInfo, _split_base(base)
    else:
        make, (host, path, has_query) = _page_info, _split_base_cached(base)
    if not query or not has_query:
        return make(host, path, None, None, None, None, None, None)
    q = _parse_query(query)
    if not q:
        return make(host, path, None, None, None, None, None, None)
    get = q.get
    source = get("utm_source") or get("ref") or get("source")
    # Unique click-id values still produce repeating results, so the (slow, frozen) construction is cached.
    return make(
        host,
        path,
        source,
        get("utm_medium"),
        get("utm_campaign"),
        get("utm_term"),
        get("utm_content"),
        get("click_id"),
    )


_parse_page_cached = lru_cache(maxsize=8192)(_parse_page)


def parse_page(url: str | None) -> PageInfo:
    """Parse a page URL into host, path, UTM values and the ad click-id parameter (if any)."""
    if not url:
        return _EMPTY_PAGE
    if len(url) > _CACHE_MAX_URL:
        return _parse_page(url)
    return _parse_page_cached(url)


@lru_cache(maxsize=8192)
def _referrer_host(scheme: str, authority: str) -> str | None:
    if scheme.strip().lower() not in _REFERRER_SCHEMES:
        return None
    return _clean_host(authority)


@lru_cache(maxsize=1024)
def _normalise_host(host: str) -> str | None:
    return _clean_host(host)


def referrer_domain(referrer: str | None, page_host: str | None) -> str | None:
    """Lower-case host of the referrer without "www." and port; None when empty/unparseable, when it is
    not http(s)/android-app, or when it equals page_host (self-referral, i.e. internal navigation)."""
    if not referrer:
        return None
    scheme, sep, rest = referrer.partition("://")
    if not sep or len(scheme) > 20:
        return None
    # Only scheme and authority matter, so the cache is keyed on them rather than on the whole referrer.
    authority = rest.partition("/")[0]
    if "?" in authority or "#" in authority:
        authority = authority.partition("?")[0].partition("#")[0]
    if len(authority) > _CACHE_MAX_URL:
        return None
    host = _referrer_host(scheme, authority)
    if host is None:
        return None
    if page_host and (
        host == page_host or (len(page_host) <= _MAX_HOST and host == _normalise_host(page_host))
    ):
        return None
    return host


# --------------------------------------------------------------------------------------------------------
# Channel grouping


@lru_cache(maxsize=4096)
def _site_kind(host: str) -> str | None:
    """Kind of a known site ("search", "social", ...) for a host or app id; None when unknown."""
    labels = host.split(".")
    for i in range(len(labels)):  # most specific suffix first
        kind = DOMAIN_KINDS.get(".".join(labels[i:]))
        if kind is not None:
            return kind or None
    # Country variants: <brand>.<cc>, <brand>.<com|co|...>.<cc>, <brand>.com
    for tail in (1, 2):
        if len(labels) <= tail:
            break
        last = labels[-1]
        if not (2 <= len(last) <= 3 and last.isascii() and last.isalpha()):
            break
        if tail == 2 and labels[-2] not in SECOND_LEVEL_LABELS:
            break
        base = labels[:-tail]
        if len(base) >= 2:
            kind = BRAND_KINDS.get(base[-2] + "." + base[-1])
            if kind is not None:
                return kind
        kind = BRAND_KINDS.get(base[-1])
        if kind is not None:
            return kind
    return None


def _source_kind(source: str) -> str | None:
    kind = SOURCE_KINDS.get(source)
    if kind is None and "." in source:
        host = _clean_host(source.partition("/")[0])
        kind = _site_kind(host) if host else None
    return kind


def _is_shop_campaign(campaign: str) -> bool:
    """True for campaign names containing "shopping", or "shop" at a word start (or after an "e")."""
    if "shopping" in campaign:
        return True
    start = campaign.find("shop")
    while start != -1:
        if start == 0 or campaign[start - 1] not in "abcdfghijklmnopqrstuvwxyz":
            return True
        start = campaign.find("shop", start + 1)
    return False


def _is_paid_medium(medium: str) -> bool:
    return "cp" in medium or medium in ("ppc", "retargeting") or medium.startswith("paid")


def _is_email_word(value: str) -> bool:
    return any(w in value for w in ("email", "e-mail", "e_mail", "e mail", "newsletter"))


def _is_push_medium(medium: str) -> bool:
    return medium.endswith("push") or "mobile" in medium or "notification" in medium


@dataclass(frozen=True, slots=True)
class _Signals:
    source: str  # utm_source, else referrer domain ("" when neither)
    medium: str
    campaign: str
    kind: str | None  # kind of known site the source is
    referrer: str | None
    referrer_kind: str | None
    tagged: bool  # utm_source or utm_medium present
    paid: bool
    paid_kind: str | None  # network kind used by the Paid * rules
    shop_campaign: bool


_PAID_KINDS = frozenset({SEARCH, SOCIAL, VIDEO, SHOPPING})

_Rule = tuple[str, Callable[[_Signals], bool]]

# Ordered: the first rule whose test passes names the channel. "Direct" is decided before this table.
RULES: tuple[_Rule, ...] = (
    ("Cross-network", lambda s: "cross-network" in s.campaign),
    ("Paid Shopping", lambda s: s.paid and (s.paid_kind == SHOPPING or s.shop_campaign)),
    ("Paid Search", lambda s: s.paid and s.paid_kind == SEARCH),
    ("Paid Social", lambda s: s.paid and s.paid_kind == SOCIAL),
    ("Paid Video", lambda s: s.paid and s.paid_kind == VIDEO),
    ("Display", lambda s: s.medium in DISPLAY_MEDIUMS),
    ("Paid Other", lambda s: s.paid),
    ("Organic Shopping", lambda s: s.kind == SHOPPING or s.shop_campaign),
    ("Organic Social", lambda s: s.kind == SOCIAL or s.medium in SOCIAL_MEDIUMS),
    ("Organic Video", lambda s: s.kind == VIDEO or s.medium == "video"),
    ("Organic Search", lambda s: s.kind == SEARCH or s.medium == "organic"),
    (
        "Email",
        lambda s: (
            s.kind == EMAIL
            or s.referrer_kind == EMAIL
            or _is_email_word(s.source)
            or _is_email_word(s.medium)
        ),
    ),
    ("Affiliate", lambda s: s.medium == "affiliate"),
    ("Referral", lambda s: s.medium in REFERRAL_MEDIUMS),
    ("Audio", lambda s: s.medium == "audio"),
    ("SMS", lambda s: s.source == "sms" or s.medium == "sms"),
    ("Mobile Push", lambda s: _is_push_medium(s.medium) or s.source == "firebase"),
    ("Referral", lambda s: s.referrer is not None and not s.tagged),
)


def _norm(value: str | None) -> str:
    return value.strip().lower() if value else ""


@lru_cache(maxsize=8192)
def _classify(
    referrer: str | None, source: str | None, medium: str | None, campaign: str | None, click_id: str | None
) -> str:
    src, med, camp = _norm(source), _norm(medium), _norm(campaign)
    ref = referrer.strip().lower() if referrer and referrer.strip() else None
    click = _norm(click_id) or None
    if not (ref or src or med or camp or click):
        return "Direct"
    if not src and ref:
        src = ref
    elif not src and click == "fbclid":
        src = "facebook"  # fbclid without any other signal: the visitor came from Facebook
    kind = _source_kind(src) if src else None
    paid_kind = kind if kind in _PAID_KINDS else _PAID_CLICK_IDS.get(click or "")
    signals = _Signals(
        source=src,
        medium=med,
        campaign=camp,
        kind=kind,
        referrer=ref,
        referrer_kind=_site_kind(ref) if ref else None,
        tagged=bool(_norm(source) or med),
        paid=_is_paid_medium(med) or click in _PAID_CLICK_IDS,
        paid_kind=paid_kind,
        shop_campaign=_is_shop_campaign(camp),
    )
    for channel, test in RULES:
        if test(signals):
            return channel
    return "Unassigned"


def classify_channel(
    *,
    referrer_domain: str | None,
    utm_source: str | None,
    utm_medium: str | None,
    utm_campaign: str | None,
    click_id: str | None,
) -> str:
    """Group a visit into one of CHANNELS from its referrer domain, UTM values and ad click id."""
    size = len(referrer_domain or "") + len(utm_source or "") + len(utm_medium or "")
    size += len(utm_campaign or "") + len(click_id or "")
    classify = (
        _classify if size <= _CACHE_MAX_URL else _classify.__wrapped__
    )  # keep huge values out of the cache
    return classify(referrer_domain, utm_source, utm_medium, utm_campaign, click_id)
