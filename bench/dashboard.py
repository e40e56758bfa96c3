"""How long the Overview of the busiest project, and the insight builder's chart, take to be rendered in a
real browser, at 10 M events.

    .venv/bin/python bench/dashboard.py                 # build or reuse the store, then measure
    .venv/bin/python bench/dashboard.py --runs 7 --cold-runs 5

The data is bench/query.py's: 10 million demo events in project 1 (Europe/Paris), built once through the
real ingest pipeline and shared by both benchmarks (``--data``). A copy of that store becomes the event
store of a real ``belvedere serve`` process, with a metadata database made here (one organisation owning
projects 1 and 2, and an owner to log in as). Debian's Chromium, driven by Playwright, logs in through the
login page (landing on the account page, which asks the store nothing) and opens the overview for the
history's last 7 and 30 days (a custom range: the demo history ends on 1 November 2026), or the insight
builder (``/app/projects/1/trends``) with its chart of unique people per week over the history's last 90
days, broken down by browser (a custom range too, which the builder takes as the overview does:
``period=custom&from=…&to=…``; the server's clock is not pinned).

"Fully rendered" is the moment, counted from navigation start in the page (``performance.now()``), when
the KPI cards are in the page, the chart's SVG is drawn and all five breakdown panels — each loaded by
its own request after the page — have replaced their loading state with their table; for the builder, the
moment its chart's SVG is drawn (the chart is in the page itself). Two figures per page: **cold** (a new
server process for each page measured, so an empty query cache and no statement compiled by an earlier
page; the OS file cache stays warm) and **warm** (the same page again: the server answers its queries
from its cache). The browser's Resource Timing gives each request's share, and the server process's CPU
time during each cold load the work it cost (which a busy machine inflates far less than the wall time).
Results go to ``bench/results/dashboard-<timestamp>.md``.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.e2e.browser_kit import CHROMIUM_ARGS

from bench.query_data import END, DataSpec, ensure_store

RESULTS = Path(__file__).resolve().parent / "results"
EMAIL, PASSWORD = "bench@belvedere.local", "a long benchmark passphrase 2026"
TARGET_MS = 1000.0
ACCOUNT = "/app/account"  # where the browser lands after logging in
DESKTOP_UA = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
)
# True once the page is fully rendered: KPIs, the chart's SVG, five panels without a loading state.
RENDERED = """() => {
  const kpis = document.querySelector('[data-kpi="visitors"]');
  const chart = document.querySelector('.chart[data-chart-ready="true"] svg');
  const panels = document.querySelectorAll('section.panel');
  const loading = document.querySelector('section.panel .loading');
  return kpis && chart && panels.length === 5 && !loading ? performance.now() : false;
}"""
# The builder: its chart's SVG drawn.
CHART_DRAWN = """() => document.querySelector('[data-chart-ready="true"] svg') ? performance.now() : false"""
BUILDER_QUESTION = "event=%24pageview&math=unique_users&prop=&sf=&so=eq&sv=&breakdown=browser&display=line"
TIMINGS = """() => {
  const nav = performance.getEntriesByType('navigation')[0];
  const parts = {page: nav.responseEnd - nav.requestStart};
  for (const r of performance.getEntriesByType('resource')) {
    const m = r.name.match(/\\/panels\\/(\\w+)/);
    if (m) parts['panel ' + m[1]] = r.responseEnd - r.requestStart;
  }
  return parts;
}"""


@dataclass
class Scenario:
    name: str
    first: str
    last: str
    cold: list[float] = field(default_factory=list)
    warm: list[float] = field(default_factory=list)
    parts: list[dict[str, float]] = field(default_factory=list)  # of the cold runs
    loads: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)  # the server's CPU time during each cold load, ms
    builder: bool = False  # the insight builder's chart rather than the overview

    @property
    def url(self) -> str:
        span = f"period=custom&from={self.first}&to={self.last}"
        if self.builder:
            return f"/app/projects/1/trends?{BUILDER_QUESTION}&{span}"
        return f"/app/projects/1?{span}"

    @property
    def rendered(self) -> str:
        return CHART_DRAWN if self.builder else RENDERED


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def prepare(data_dir: Path, store: Path, console: Console) -> None:
    """A server data dir: a copy of the store (the server may write to it) and the metadata it needs."""
    from argon2 import PasswordHasher

    from belvedere.accounts.models import Membership
    from belvedere.accounts.organisations import create_organisation, create_user
    from belvedere.accounts.service import create_project_in
    from belvedere.platform import migrate
    from belvedere.platform.db import make_engine, make_session_factory, transaction

    events = data_dir / "events.duckdb"
    if not events.exists() or events.stat().st_mtime < store.stat().st_mtime:
        if data_dir.exists():
            shutil.rmtree(data_dir)
        data_dir.mkdir(parents=True)
        console.print(f"Copying the store ({store.stat().st_size / 2**30:.1f} GiB) to {data_dir}…")
        shutil.copyfile(store, events)
    database = data_dir / "belvedere.db"
    if database.exists():
        return
    engine = make_engine(f"sqlite:///{database}")
    migrate.upgrade(engine)
    with transaction(make_session_factory(engine)) as session:
        org = create_organisation(session, name="PropManager", owner=None, plan="unlimited")
        for name in ("PropManager app", "AI chat"):  # ids 1 and 2, as in the store
            create_project_in(session, organisation_id=org.id, name=name, timezone="Europe/Paris")
        user = create_user(session, email=EMAIL, password_hash=PasswordHasher().hash(PASSWORD))
        session.add(Membership(organisation_id=org.id, user_id=user.id, role="owner"))
    engine.dispose()


class Server:
    settings: dict[str, str] = {}  # BELVEDERE_* settings for the server (--setting)

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("BELVEDERE_")}
        env.update({"BELVEDERE_DATA_DIR": str(data_dir), "BELVEDERE_AUTH__COOKIE_SECURE": "false"})
        env.update(self.settings)
        log = (data_dir / "server.log").open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "belvedere", "serve", "--port", str(self.port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server stopped; see {data_dir / 'server.log'}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise TimeoutError("the server did not start")

    def cpu_ms(self) -> float:
        """The server process's CPU time so far (user and system, every thread): the work a page costs,
        which the other processes of a busy machine do not inflate as they do its wall time."""
        import psutil

        times = psutil.Process(self.process.pid).cpu_times()
        return (times.user + times.system) * 1000

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(60)


def _render_ms(page: Any, url: str, rendered: str = RENDERED) -> float:
    page.goto(url, wait_until="commit")
    handle = page.wait_for_function(rendered, polling="raf", timeout=120_000)
    return float(handle.json_value())


def measure(
    data_dir: Path, scenarios: list[Scenario], cold_runs: int, warm_runs: int, console: Console
) -> str:
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        version = browser.version
        for run in range(cold_runs):
            for s in scenarios:
                server = Server(data_dir)  # a new process per page: an empty query cache
                try:
                    context = browser.new_context(
                        viewport={"width": 1280, "height": 900}, user_agent=DESKTOP_UA
                    )
                    page = context.new_page()
                    # Logged in to the account page, which asks the store nothing: landing on the overview
                    # would fill the cache (and start queries) before the page measured.
                    page.goto(f"{server.url}/login?next={ACCOUNT}")
                    page.get_by_label("Email").fill(EMAIL)
                    page.get_by_label("Password").fill(PASSWORD)
                    page.get_by_role("button", name="Log in").click()
                    page.wait_for_url(f"**{ACCOUNT}")
                    s.loads.append(os.getloadavg()[0])
                    before = server.cpu_ms()
                    s.cold.append(_render_ms(page, server.url + s.url, s.rendered))
                    s.cpu.append(server.cpu_ms() - before)
                    s.parts.append(page.evaluate(TIMINGS))
                    if run == 0:
                        s.warm.extend(
                            _render_ms(page, server.url + s.url, s.rendered) for _ in range(warm_runs)
                        )
                    console.print(
                        f"  run {run + 1}: {s.name} cold {s.cold[-1]:,.0f} ms, server CPU {s.cpu[-1]:,.0f} ms"
                    )
                    context.close()
                finally:
                    server.stop()
        browser.close()
    return version


def _stats(values: list[float]) -> str:
    if not values:
        return "n/a"
    return f"{statistics.median(values):,.0f} ({min(values):,.0f} to {max(values):,.0f})"


def report(scenarios: list[Scenario], facts: dict[str, str], console: Console) -> Path:
    table = Table(title="Overview fully rendered, builder chart drawn, in Chromium (ms: median (min to max))")
    for column in ("Range", "Cold", "Warm", "Target", "Met (cold)"):
        table.add_column(column)
    lines = [
        f"# Overview benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "",
        *(f"- {k}: {v}" for k, v in facts.items()),
        "",
        "| Range | Cold: new server, empty query cache | Warm: cached queries | Target | Met (cold) |",
        "|---|---|---|---|---|",
    ]
    for s in scenarios:
        met = "yes" if statistics.median(s.cold) <= TARGET_MS else "**no**"
        table.add_row(s.name, _stats(s.cold), _stats(s.warm), f"{TARGET_MS:,.0f}", met)
        lines.append(f"| {s.name} | {_stats(s.cold)} | {_stats(s.warm)} | {TARGET_MS:,.0f} | {met} |")
    console.print(table)
    lines += [
        "",
        "Each request's time in the cold runs (browser Resource Timing, request start to response end, ms):",
        "",
    ]
    names = sorted({k for s in scenarios for p in s.parts for k in p})
    lines.append("| Range | " + " | ".join(names) + " |")
    lines.append("|---|" + "---|" * len(names))
    for s in scenarios:
        cells = [_stats([p[n] for p in s.parts if n in p]) for n in names]
        lines.append(f"| {s.name} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "The server's CPU time during each cold load (user and system, all threads; ms): "
        + ", ".join(f"{s.name} {_stats(s.cpu)}" for s in scenarios),
        "",
        "1-minute load average before each cold run: "
        + ", ".join(f"{s.name} {', '.join(f'{x:.2f}' for x in s.loads)}" for s in scenarios),
    ]
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"dashboard-{datetime.now(UTC):%Y%m%d-%H%M%S}.md"
    out.write_text("\n".join(lines) + "\n")
    console.print(f"Written to {out}")
    return out


def machine() -> dict[str, str]:
    import duckdb
    import psutil

    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return {
        "CPU": f"{cpu}, {os.cpu_count()} cores",
        "RAM": f"{psutil.virtual_memory().total / 2**30:.1f} GiB",
        "Python": platform.python_version(),
        "DuckDB": duckdb.__version__,
    }


def _code() -> str:
    """Where the servers' ``belvedere`` comes from (they inherit this environment), and its commit."""
    import belvedere

    where = Path(belvedere.__file__).resolve().parent
    commit = subprocess.run(
        ["git", "-C", str(where), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "-C", str(where), "status", "--porcelain", "--untracked-files=no", "."],
        capture_output=True,
        text=True,
    ).stdout.strip()
    return f"{where} at {commit or 'no commit'}{' (with changes)' if dirty else ''}"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=10_000_000, help="events in the main project")
    parser.add_argument("--second-events", type=int, default=200_000, help="events in the second project")
    parser.add_argument(
        "--data", type=Path, default=RESULTS / "query-store", help="the shared store's folder"
    )
    parser.add_argument("--server-data", type=Path, default=RESULTS / "dashboard-data", help="the server's")
    parser.add_argument("--workers", type=int, default=2, help="processes enriching events when building")
    parser.add_argument("--cold-runs", type=int, default=3, help="server restarts, one cold load each")
    parser.add_argument("--runs", type=int, default=5, help="warm loads per range (first server only)")
    parser.add_argument(
        "--setting",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a server setting, e.g. BELVEDERE_STORE__MEMORY_LIMIT=2GB (repeatable; defaults otherwise)",
    )
    args = parser.parse_args()
    Server.settings = dict(item.split("=", 1) for item in args.setting)

    console = Console(highlight=False)
    args.data.mkdir(parents=True, exist_ok=True)
    info = ensure_store(args.data, DataSpec(events=args.events, second_events=args.second_events), console)
    prepare(args.server_data, info.path, console)
    last = END.date()
    scenarios = [
        Scenario("last 7 days", (last - timedelta(days=6)).isoformat(), last.isoformat()),
        Scenario("last 30 days", (last - timedelta(days=29)).isoformat(), last.isoformat()),
        Scenario(
            "builder: 90 days by browser",
            (last - timedelta(days=89)).isoformat(),
            last.isoformat(),
            builder=True,
        ),
    ]
    version = measure(args.server_data, scenarios, args.cold_runs, args.runs, console)
    facts = {
        **machine(),
        "Chromium": version,
        "Events": f"{info.stored.get(1, 0):,} in project 1 (the overview's), "
        f"{info.stored.get(2, 0):,} in project 2",
        "Ranges": ", ".join(f"{s.name}: {s.first} to {s.last}" for s in scenarios),
        "Server settings": ", ".join(args.setting) or "defaults (docs/settings.md)",
        "Code": _code(),
    }
    report(scenarios, facts, console)


if __name__ == "__main__":
    main()
