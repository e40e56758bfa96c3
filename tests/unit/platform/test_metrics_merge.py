"""The owner's /metrics adds the capture workers' snapshots to its own samples."""

from __future__ import annotations

from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from belvedere.platform.metrics import Metrics, RouteTimer


def _samples(text: bytes) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text.decode())
        for s in family.samples
    }


def test_counters_and_histograms_are_summed_over_processes(tmp_path: Path) -> None:
    owner, first, second = Metrics(), Metrics(), Metrics()
    owner.events_accepted.inc(5)
    first.events_accepted.inc(100)
    second.events_accepted.inc(20)
    first.events_rejected.labels("invalid_event").inc(3)
    second.events_rejected.labels("missing_event").inc(1)
    RouteTimer(first.http_seconds).observe("POST", "/api/v1/capture", 202, 0.003)
    RouteTimer(second.http_seconds).observe("POST", "/api/v1/capture", 202, 0.2)
    first.add_step_timings({"geo": 1.5})
    second.add_step_timings({"geo": 0.5, "source": 0.25})
    owner.spool_depth.set(7)
    first.write_snapshot(tmp_path / "capture-0.json")
    second.write_snapshot(tmp_path / "capture-1.json")
    (tmp_path / "capture-2.json").write_text("{ torn")  # a snapshot being replaced is skipped

    merged = _samples(owner.render(tmp_path))
    assert merged[("belvedere_events_accepted_total", ())] == 125
    assert merged[("belvedere_events_rejected_total", (("reason", "invalid_event"),))] == 3
    assert merged[("belvedere_events_rejected_total", (("reason", "missing_event"),))] == 1
    capture = (("method", "POST"), ("route", "/api/v1/capture"), ("status", "202"))
    assert merged[("belvedere_http_request_seconds_count", capture)] == 2
    assert merged[("belvedere_http_request_seconds_bucket", (("le", "0.005"), *capture))] == 1
    assert merged[("belvedere_http_request_seconds_bucket", (("le", "0.25"), *capture))] == 2
    assert merged[("belvedere_ingest_step_seconds_total", (("step", "geo"),))] == 2.0
    assert merged[("belvedere_ingest_step_seconds_total", (("step", "source"),))] == 0.25
    assert merged[("belvedere_spool_depth_bytes", ())] == 7
    # Without snapshots, the owner's own exposition.
    alone = _samples(owner.render(tmp_path / "none"))
    assert alone[("belvedere_events_accepted_total", ())] == 5
