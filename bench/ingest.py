"""Ingest benchmark: drives a real `belvedere serve` process over HTTP and reports throughput, latency, CPU,
RSS and time-until-queryable. A benchmark, not a test: run it by hand and copy the table into
docs/benchmarks.md.

    .venv/bin/python bench/ingest.py                 # starts its own server in a temporary folder
    .venv/bin/python bench/ingest.py --seconds 20    # longer phases

Phases (each against the same server, one after the other):
  1. single-max    closed loop, single-event requests, as fast as the server answers (wrk)
  2. single-5k     open loop at 5,000 requests/s: latency measured from each request's scheduled time
  3. batch100-max  closed loop, 100-event batches (wrk); then the writer's sustained rate into DuckDB
  4. queryable     during a 2,000 req/s open-loop load, events are sent and polled until readable
Needs `wrk` (Debian package `wrk`); installs it with apt-get when run as root.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.e2e.server_kit import Server, cli  # noqa: E402

from belvedere.demo.generator import generate  # noqa: E402
from bench.calibrate import calibrate  # noqa: E402
from bench.loadgen import percentile  # noqa: E402


@dataclass
class Sampler:
    """CPU and RSS of the server, sampled every 0.5 s in a thread: with capture workers, the sum over the
    owner and its workers (RSS summed counts the pages they share once per process: an upper bound), and
    the owner's own RSS."""

    pid: int
    cpu: list[float] = field(default_factory=list)
    rss: list[int] = field(default_factory=list)
    owner_rss: list[int] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def __enter__(self) -> Sampler:
        self._process = psutil.Process(self.pid)
        self._known: dict[int, psutil.Process] = {}
        self._tree()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _tree(self) -> list[psutil.Process]:
        """The server and its worker processes (not the resource tracker), each kept for cpu_percent."""
        processes = [self._process]
        for child in self._process.children(recursive=True):
            try:
                if "spawn_main" in " ".join(child.cmdline()):
                    processes.append(child)
            except psutil.NoSuchProcess:
                continue
        for process in processes:
            if process.pid not in self._known:
                self._known[process.pid] = process
                process.cpu_percent(None)
        return [self._known[p.pid] for p in processes]

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            cpu = rss = 0.0
            for process in self._tree():
                try:
                    cpu += process.cpu_percent(None)
                    rss += process.memory_info().rss
                except psutil.NoSuchProcess:
                    continue
            self.cpu.append(cpu)
            self.rss.append(int(rss))
            self.owner_rss.append(self._process.memory_info().rss)

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def summary(self) -> dict[str, float]:
        return {
            "cpu_avg_pct": round(statistics.mean(self.cpu), 1) if self.cpu else 0.0,
            "rss_max_mb": round(max(self.rss) / 2**20, 1) if self.rss else 0.0,
            "owner_rss_max_mb": round(max(self.owner_rss) / 2**20, 1) if self.owner_rss else 0.0,
        }


def bodies(path: Path, *, batch: int, count: int) -> Path:
    """Realistic capture bodies from the demo generator, without uuids (so repeats are distinct events)."""
    payloads: list[dict[str, Any]] = []
    for item in generate(seed=7, events=count * batch + 1000, days=30):
        payload = dict(item.payload)
        payload.pop("uuid", None)
        payload.pop("timestamp", None)  # stamped on receipt, like a live tracker
        payloads.append(payload)
        if len(payloads) >= count * batch:
            break
    with path.open("wb") as handle:
        for i in range(count):
            chunk = payloads[i * batch : (i + 1) * batch]
            handle.write(orjson.dumps(chunk[0] if batch == 1 else {"batch": chunk}) + b"\n")
    return path


def metric(url: str, name: str) -> float:
    for line in httpx.get(f"{url}/metrics", timeout=10).text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return 0.0


_MARKS = (
    "belvedere_page_marks_seconds_count",
    "belvedere_page_marks_seconds_sum",
    "belvedere_page_marks_visits_total",
)


def mark_counters(url: str) -> tuple[float, ...]:
    """The server's page-marking counters: passes, seconds, visits marked again."""
    return tuple(metric(url, name) for name in _MARKS)


def marks_since(url: str, before: tuple[float, ...]) -> dict[str, Any]:
    """The writer's page-marking passes since ``before`` (``mark_counters``): while they run, batches wait."""
    passes, seconds, visits = (a - b for a, b in zip(mark_counters(url), before, strict=True))
    mean = seconds / passes if passes else None
    return {"passes": passes, "seconds": seconds, "mean_s": mean, "visits": visits}


def wait_drained(url: str, timeout: float = 300) -> float:
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        # The workers' backlog first: once it is 0, what it held is already in the owner's spool.
        if (
            metric(url, "belvedere_relay_backlog_bytes") == 0
            and metric(url, "belvedere_spool_depth_bytes") == 0
        ):
            break
        time.sleep(0.05)
    return time.perf_counter() - started


def wrk_command(url: str, key: str, body_file: Path, seconds: int, connections: int) -> list[str]:
    """One single-threaded wrk posting ``body_file``'s bodies to the capture endpoint at ``url``."""
    script = ROOT / "bench" / "wrk_post.lua"
    return ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "-s", str(script),
            f"{url}/api/v1/capture", "--", str(body_file), key]  # fmt: skip


def wrk_result(out: str) -> dict[str, Any]:
    """The figures ``wrk_post.lua`` prints as its last JSON line."""
    line = next(x for x in out.splitlines() if x.startswith("JSON "))
    data: dict[str, Any] = json.loads(line[5:])
    return data


def run_wrk(url: str, key: str, body_file: Path, seconds: int, connections: int) -> dict[str, Any]:
    """Closed loop with one wrk thread: on two cores, the other core is left to the server."""
    out = subprocess.run(
        wrk_command(url, key, body_file, seconds, connections), capture_output=True, text=True, check=True
    ).stdout
    data = wrk_result(out)
    data["rps"] = data["requests"] / (data["duration_us"] / 1e6)
    return data


def run_open_loop(url: str, key: str, body_file: Path, rate: float, seconds: float) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "bench" / "loadgen.py"),
            "--url",
            url,
            "--key",
            key,
            "--bodies",
            str(body_file),
            "--rate",
            str(rate),
            "--seconds",
            str(seconds),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )


def probe_queryable(
    url: str, key: str, api_key: str, project_id: int, samples: int, *, capture_url: str | None = None
) -> list[float]:
    """Send an event with a known uuid (to ``capture_url``, by default the server itself); poll the server's
    read API until it is there. Seconds from 202 to readable."""
    delays: list[float] = []
    with httpx.Client(timeout=10) as client:
        for _ in range(samples):
            event_id = str(uuid.uuid4())
            response = client.post(
                f"{capture_url or url}/api/v1/capture",
                json={"event": "probe", "uuid": event_id},
                headers={"Authorization": f"Bearer {key}"},
            )
            acked = time.perf_counter()
            assert response.status_code == 202, response.text
            while True:
                found = client.get(
                    f"{url}/api/v1/projects/{project_id}/events/{event_id}",
                    headers={"Authorization": f"Bearer {api_key}"},
                )
                if found.status_code == 200:
                    delays.append(time.perf_counter() - acked)
                    break
                if time.perf_counter() - acked > 30:
                    delays.append(float("inf"))
                    break
                time.sleep(0.01)
            time.sleep(0.05)
    return delays


def ensure_wrk() -> None:
    if shutil.which("wrk"):
        return
    if os.geteuid() == 0:
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "wrk"],
            check=True,
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        )
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: apt-get install wrk")


PHASES = ("single-max", "single-5k", "batch100-max", "queryable")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=15, help="length of each load phase")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument(
        "--setting",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a server setting, e.g. BELVEDERE_STORE__MEMORY_LIMIT=256MB (repeatable; defaults otherwise)",
    )
    parser.add_argument(
        "--phases",
        default=",".join(PHASES),
        help=f"comma-separated phases to run, in this order: {', '.join(PHASES)} (default: all)",
    )
    args = parser.parse_args()
    phases = set(args.phases.split(","))
    if not phases <= set(PHASES):
        parser.error(f"unknown phase in {args.phases!r}; choose among {', '.join(PHASES)}")
    settings = dict(item.split("=", 1) for item in args.setting)
    ensure_wrk()
    data_dir = Path(tempfile.mkdtemp(prefix="belvedere-bench-"))
    made = orjson.loads(cli(data_dir, "project", "create", "--name", "Bench", "--json").stdout)
    key, api_key, project_id = made["write_key"], made["api_key"], made["project_id"]
    single = bodies(data_dir / "single.ndjson", batch=1, count=5000)
    batch = bodies(data_dir / "batch100.ndjson", batch=100, count=300)
    server = Server(data_dir, BELVEDERE_LOG_LEVEL="warning", **settings).start()
    results: dict[str, Any] = {
        "machine": f"{os.cpu_count()} cores, {psutil.virtual_memory().total / 2**30:.0f} GiB RAM, "
        f"{platform.machine()}, Python {platform.python_version()}",
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        # The machine's speed, the server idle (bench/calibrate.py): compare runs by it first.
        "calibration": calibrate(),
        "seconds_per_phase": args.seconds,
        "settings": settings,
    }
    try:
        assert server.process is not None
        pid = server.process.pid
        if "single-max" in phases:
            with Sampler(pid) as s:
                wrk = run_wrk(server.url, key, single, args.seconds, args.connections)
            results["single-max"] = {**wrk, **s.summary()}
            wait_drained(server.url)

        if "single-5k" in phases:
            with Sampler(pid) as s:
                loadgen = run_open_loop(server.url, key, single, 5000, args.seconds)
                out, _ = loadgen.communicate()
            results["single-5k"] = {**json.loads(out), **s.summary()}
            wait_drained(server.url)

        if "batch100-max" in phases:
            _batch_phase(results, server.url, key, batch, pid, args.seconds)
        if "queryable" in phases:
            _queryable_phase(results, server.url, key, api_key, project_id, single, pid, args.seconds)
        results["events_in_store"] = metric(server.url, "belvedere_store_rows_total")
    finally:
        server.stop()
    # Again with the server stopped: whether the machine changed speed during the run.
    results["calibration_end"] = calibrate()
    write_results(args.out, "ingest", results)
    shutil.rmtree(data_dir, ignore_errors=True)


def write_results(folder: Path, name: str, results: dict[str, Any]) -> Path:
    """The run's figures, printed and kept as ``<folder>/<name>-<timestamp>.json``."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))
    print(f"\nresults written to {path}")
    return path


def _batch_phase(results: dict[str, Any], url: str, key: str, batch: Path, pid: int, seconds: int) -> None:
    rows_before = metric(url, "belvedere_store_rows_total")
    marks_before = mark_counters(url)
    with Sampler(pid) as s:
        started = time.perf_counter()
        wrk = run_wrk(url, key, batch, seconds, 16)
        drain = wait_drained(url)
        elapsed = time.perf_counter() - started
    stored = metric(url, "belvedere_store_rows_total") - rows_before
    results["batch100-max"] = {
        **wrk,
        "events_per_s_accepted": wrk["rps"] * 100,
        "events_stored": stored,
        "drain_s": drain,
        "events_per_s_into_store": stored / elapsed,
        "page_marks": marks_since(url, marks_before),
        **s.summary(),
    }


def _queryable_phase(
    results: dict[str, Any],
    url: str,
    key: str,
    api_key: str,
    project_id: int,
    single: Path,
    pid: int,
    seconds: int,
) -> None:
    with Sampler(pid) as s:
        loadgen = run_open_loop(url, key, single, 2000, seconds)
        time.sleep(1)
        delays = probe_queryable(url, key, api_key, project_id, samples=60)
        out, _ = loadgen.communicate()
    results["queryable"] = {
        "background": json.loads(out),
        "samples": len(delays),
        "p50_s": percentile(delays, 50),
        "p99_s": percentile(delays, 99),
        "max_s": max(delays),
        **s.summary(),
    }


if __name__ == "__main__":
    main()
