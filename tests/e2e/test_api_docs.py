"""The interactive API reference works offline: Swagger UI is served by Belvedere under its strict CSP."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.e2e.browser_kit import Watch, browser, screenshot
from tests.e2e.server_kit import Server

pytestmark = pytest.mark.slow


def test_api_docs_render_from_vendored_files_only(tmp_path: Path) -> None:
    server = Server(tmp_path / "data").start()
    watch = Watch()
    try:
        with browser() as chromium:
            context = chromium.new_context(viewport={"width": 1280, "height": 900})
            watch.route(context)
            page = context.new_page()
            watch.attach(page)
            response = page.goto(f"{server.url}/docs")
            assert response is not None and "cdn" not in response.headers["content-security-policy"]
            page.locator(
                ".opblock-summary-path", has_text="/api/v1/projects/{project_id}/query"
            ).first.wait_for()
            screenshot(page, "20-api-docs")
    finally:
        server.stop()
    assert watch.external == []
    assert watch.console_errors == []
