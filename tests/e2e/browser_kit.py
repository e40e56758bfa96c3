"""A real headless Chromium (Debian's, driven by Playwright — never `playwright install`) against a real
Belvedere server, with a guard that fails the test on console errors or any request leaving the machine."""

from __future__ import annotations

import re
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"
LOCAL_HOSTS = ("127.0.0.1", "localhost")


def chromium_path() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:  # pragma: no cover - the test command installs Debian's chromium
        pytest.fail("Chromium is not installed: run scripts/test.sh, which installs Debian's package")
    return path


@dataclass
class Watch:
    """Console errors and off-machine requests seen by a page."""

    console_errors: list[str] = field(default_factory=list)
    external: list[str] = field(default_factory=list)
    captured: list[dict[str, Any]] = field(default_factory=list)

    def attach(self, page: Any) -> None:
        page.on("console", lambda m: m.type == "error" and self.console_errors.append(m.text))
        page.on("pageerror", lambda e: self.console_errors.append(str(e)))

    def route(self, context: Any) -> None:
        def guard(route: Any) -> None:
            url = route.request.url
            host = url.split("/")[2].split(":")[0] if "://" in url else ""
            if url.startswith(("http://", "https://")) and host not in LOCAL_HOSTS:
                self.external.append(url)
                route.abort()
                return
            if url.endswith("/api/v1/capture") and route.request.method == "POST":
                self.captured.append({"body": route.request.post_data})
            route.continue_()

        context.route("**/*", guard)


@contextmanager
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            yield instance
        finally:
            instance.close()


@contextmanager
def static_site(root: Path) -> Iterator[str]:
    """Another website (another origin) that embeds the tracker, served from ``root``."""
    handler = partial(SimpleHTTPRequestHandler, directory=str(root))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


def screenshot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def assert_valid_html(html: str) -> None:
    """No HTML5 parse error (html5lib, strict) and no duplicate id; HTMX fragments are parsed as fragments."""
    import html5lib

    parser = html5lib.HTMLParser(strict=True, namespaceHTMLElements=False)
    whole = html.lstrip().lower().startswith("<!doctype html>")
    document = parser.parse(html) if whole else parser.parseFragment(html)
    ids = [el.get("id") for el in document.iter() if el.get("id")]
    assert len(ids) == len(set(ids)), f"duplicate ids: {sorted(i for i in ids if ids.count(i) > 1)}"


AXE = Path(__file__).resolve().parent / "a11y" / "node_modules" / "axe-core" / "axe.min.js"
# What the pages must pass: WCAG 2.1 A and AA rules, failing on serious and critical findings.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def assert_accessible(page: Any, name: str) -> None:
    """Run axe-core (installed by the test command from npm) in the page; DevTools evaluation is not
    subject to the page's CSP, so nothing is loaded from elsewhere and the page's policy stays strict."""
    if not AXE.exists():  # pragma: no cover - scripts/test.sh installs it
        pytest.fail("axe-core is missing: run scripts/test.sh, which installs tests/e2e/a11y with npm")
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text())
    result = page.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", AXE_TAGS)
    serious = [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:5]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert not serious, f"{name}: accessibility violations:\n" + "\n".join(serious)


def sign_up_with_a_project(page: Any, url: str) -> str:
    """A new account (Ada, of Analytical Engines) and its project "Shop", through the pages; returns the
    project's write key, the page left on the project's settings."""
    page.goto(f"{url}/signup")
    page.get_by_label("Your name").fill("Ada")
    page.get_by_label("Email").fill("ada@example.test")
    page.get_by_label("Password").fill("a long and unusual passphrase 42")
    page.get_by_label("Organisation").fill("Analytical Engines")
    page.get_by_role("button", name="Create account").click()
    page.wait_for_url(re.compile(r"/app/orgs/\d+/projects/new$"))
    page.get_by_label("Name").fill("Shop")
    page.get_by_role("button", name="Create project").click()
    page.wait_for_url(re.compile(r"/app/projects/\d+/settings$"))
    key = re.search(r'data-key="(bw_[^"]+)"', page.locator("#snippet").inner_text())
    assert key
    return key.group(1)
