"""Issue #27: the README's "Send an event, ask a question" commands work exactly as written — run here with
bash, against a real server (only its address differs: a free port rather than 8000), and their answers
are the event accepted and a trends answer that counts it."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.e2e.server_kit import Server, env_for

ROOT = Path(__file__).resolve().parents[2]


def _readme_block() -> str:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Send an event, ask a question", 1)[1]
    found = re.search(r"```bash\n(.*?)```", section, re.S)
    assert found, "the section has its bash block"
    return found.group(1)


def _documents(text: str) -> list[dict[str, Any]]:
    decoder, found, at = json.JSONDecoder(), [], 0
    while at < len(text.strip()):
        document, at = decoder.raw_decode(text, at)
        found.append(document)
        while at < len(text) and text[at].isspace():
            at += 1
    return found


def test_the_readme_commands_send_an_event_and_count_it(tmp_path: Path) -> None:
    server = Server(tmp_path / "data").start()
    try:
        script = _readme_block().replace("http://127.0.0.1:8000", server.url)
        env = env_for(server.data_dir)
        env["PATH"] = f"{Path(sys.executable).parent}:{env['PATH']}"
        ran = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        server.stop()
    assert ran.returncode == 0, ran.stderr
    captured, answered = _documents(ran.stdout)  # curl prints the two answers back to back
    assert captured["accepted"] == 1
    trend = answered
    assert trend["kind"] == "trends" and sum(trend["series"][0]["data"]) == 1
