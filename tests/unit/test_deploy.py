"""The deployment files (deploy/) say only what the code does: every setting they set exists and takes their
value, every command and option they run exists, every metric the dashboard and Prometheus read is one the
processes export. (Docker and systemd do not run here; these checks are what can go stale.)"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from belvedere.cli import COMMANDS, load
from belvedere.config import Settings
from belvedere.platform.jobs.metrics import QueueCollector
from belvedere.platform.metrics import Metrics

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
COMPOSE = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
UNITS = sorted((DEPLOY / "systemd").glob("*.service"))


def _env_names(model: type[BaseModel], prefix: str = "BELVEDERE_") -> set[str]:
    names = set()
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            names |= _env_names(annotation, f"{prefix}{name.upper()}__")
        else:
            names.add(f"{prefix}{name.upper()}")
    return names


def _deploy_text() -> str:
    return "\n".join(p.read_text() for p in DEPLOY.rglob("*") if p.is_file())


def _compose_env(service: str) -> dict[str, str]:
    """A service's environment as Compose would give it with no .env file (required values made up)."""
    found = {}
    for name, value in COMPOSE["services"][service].get("environment", {}).items():
        value = re.sub(r"\$\{[A-Z_]+:\?[^}]*\}", "x" * 64, str(value))
        found[name] = re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", value)
    return found


def test_every_setting_the_files_set_exists() -> None:
    named = set(re.findall(r"\bBELVEDERE_[A-Z_]+[A-Z]", _deploy_text()))
    assert named, "the files set no setting?"
    assert named <= _env_names(Settings), sorted(named - _env_names(Settings))


@pytest.mark.parametrize("service", ["belvedere", "capture", "worker"])
def test_the_compose_settings_are_valid(service: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in _compose_env(service).items():
        monkeypatch.setenv(name, value)
    settings = Settings()  # raises on a value of the wrong shape
    assert settings.ingest.stream_url == "redis://redis:6379/0"
    assert settings.metadata_url.startswith("postgresql+psycopg://")


def _commands() -> list[list[str]]:
    found = [list(s["command"]) for s in COMPOSE["services"].values() if "command" in s]
    for unit in UNITS:
        line = next(x for x in unit.read_text().splitlines() if x.startswith("ExecStart="))
        found.append(shlex.split(line.removeprefix("ExecStart=").replace("%i", "8001")))
    return [c for c in found if Path(c[0]).name == "belvedere"]


def test_every_command_and_option_they_run_exists() -> None:
    commands = _commands()
    assert {c[1] for c in commands} == {"serve", "worker"}
    for command in commands:
        name, args = command[1], command[2:]
        assert name in COMMANDS
        options = {opt for param in load(name).params for opt in param.opts}
        for arg in args:
            if arg.startswith("--"):
                assert arg in options, f"{' '.join(command)}: no option {arg}"


def _exported() -> set[str]:
    names: set[str] = set(QueueCollector.NAMES)
    for family in Metrics().registry.collect():
        names.add(family.name)
        suffixes = {"counter": ["_total"], "histogram": ["_bucket", "_count", "_sum"]}.get(family.type, [])
        names |= {family.name + s for s in suffixes}
    return names


def _expressions(dashboard: dict[str, Any]) -> list[str]:
    return [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]


def test_the_dashboard_reads_only_exported_metrics() -> None:
    dashboard = json.loads((DEPLOY / "grafana" / "dashboards" / "belvedere.json").read_text())
    assert len({p["id"] for p in dashboard["panels"]}) == len(dashboard["panels"])
    read = {m for expr in _expressions(dashboard) for m in re.findall(r"\bbelvedere_[a-z_]+", expr)}
    assert read and read <= _exported(), sorted(read - _exported())
    # What an operator watches first: ingest, its lag, refusals, queries, jobs.
    for needed in (
        "belvedere_events_accepted_total",
        "belvedere_spool_age_seconds",
        "belvedere_events_rejected_total",
        "belvedere_query_seconds_bucket",
        "belvedere_jobs",
    ):
        assert needed in read  # fmt: skip


def test_prometheus_scrapes_the_compose_services() -> None:
    config = yaml.safe_load((DEPLOY / "prometheus.yml").read_text())
    targets = {
        t.split(":")[0]
        for job in config["scrape_configs"]
        for s in job.get("static_configs", [])
        for t in s["targets"]
    } | {n for job in config["scrape_configs"] for s in job.get("dns_sd_configs", []) for n in s["names"]}
    assert {"belvedere", "capture"} <= targets <= set(COMPOSE["services"])


def test_the_image_copies_files_that_exist() -> None:
    root = DEPLOY.parent
    for line in (DEPLOY / "Dockerfile").read_text().splitlines():
        if line.startswith("COPY "):
            for source in line.split()[1:-1]:
                assert (root / source).exists(), source
