"""User-agent parsing: browser, OS, device type, and bot detection."""

from __future__ import annotations

import pytest

from belvedere.ingest.enrich.ua import UserAgentParser

PARSER = UserAgentParser(cache_size=100)

IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.1 Mobile/15E148 Safari/604.1"
)
WINDOWS_CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
IPAD = (
    "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/16.6 Mobile/15E148 Safari/604.1"
)
ANDROID_PHONE = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.6778.81 Mobile Safari/537.36"
)
ANDROID_TABLET = (
    "Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
MAC_FIREFOX = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.1; rv:132.0) Gecko/20100101 Firefox/132.0"
CUBOT_PHONE = (
    "Mozilla/5.0 (Linux; Android 10; CUBOT X30) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Mobile Safari/537.36"
)


@pytest.mark.parametrize(
    ("ua", "browser", "version", "os", "os_version", "device"),
    [
        (IPHONE, "Safari", "17.1", "iOS", "17.1", "mobile"),
        (WINDOWS_CHROME, "Chrome", "131.0", "Windows", "10", "desktop"),
        (IPAD, "Safari", "16.6", "iOS", "16.6", "tablet"),
        (ANDROID_PHONE, "Chrome", "131.0", "Android", "14", "mobile"),
        (ANDROID_TABLET, "Chrome", "131.0", "Android", "13", "tablet"),
        (MAC_FIREFOX, "Firefox", "132.0", "Mac OS X", "14.1", "desktop"),
        (CUBOT_PHONE, "Chrome", "120.0", "Android", "10", "mobile"),
    ],
)
def test_browsers_and_devices(
    ua: str, browser: str, version: str, os: str, os_version: str, device: str
) -> None:
    info = PARSER.parse(ua)
    assert (info.browser, info.browser_version, info.os, info.os_version, info.device_type) == (
        browser,
        version,
        os,
        os_version,
        device,
    )
    assert not info.is_bot


@pytest.mark.parametrize(
    "ua",
    [
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
        "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0 "
        "Safari/537.36",
        "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
        "Mozilla/5.0 (compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)",
    ],
)
def test_bots_and_headless_browsers_are_recognised(ua: str) -> None:
    info = PARSER.parse(ua)
    assert info.is_bot and info.device_type == "bot"


@pytest.mark.parametrize(
    "ua", ["python-requests/2.32.3", "curl/8.5.0", "python-httpx/0.28.1", "Go-http-client/2.0"]
)
def test_http_libraries_are_server_side_clients_not_bots(ua: str) -> None:
    info = PARSER.parse(ua)
    assert info.is_library and not info.is_bot
    assert (info.browser, info.os, info.device_type) == (None, None, "server")
