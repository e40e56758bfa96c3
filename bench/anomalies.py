"""How well ``anomalies`` finds what is wrong in a metric, on labelled series made here, next to a naive
baseline (rolling mean ± 3 sigma) and the method's own variants, measured in the same run; and how well
``forecast`` (the same model run ahead) projects the series without anomalies, against the seasonal naive
forecast, with how often its intervals hold the truth.

    .venv/bin/python bench/anomalies.py                    # 60 series per interval, seed 7
    .venv/bin/python bench/anomalies.py --series 20 --stl  # with statsmodels' STL/MSTL (~25 s a series by
                                                           # hour: ~9 min in all)
    .venv/bin/python bench/anomalies.py --series 200 --seed 11
    .venv/bin/python bench/anomalies.py --series 0 --store bench/results/query-store/events.duckdb

The series are product metrics as they come: a level between 3 and 20,000 a day, weekly seasonality
(weekends lower), a daily curve for hours, a trend, overdispersed Poisson noise (a gamma-Poisson mixture),
and anomalies placed in the scored period: spikes, dips, level shifts, gradual drifts, holidays (a day at
about 30 %) and outages (zeros: a day, or four hours). Each anomaly is as large as six to ten times the
noise at its place, so a good detector can see it; a quarter of the series have none (false alarms only).
Daily series are scored over 90 days after 8 weeks of history, hourly ones over 30 days after 4 weeks.

Scoring, per method and interval: an anomaly is found when at least one bucket of its window is flagged
(spike, dip: its bucket; holiday, outage: its buckets; level shift: its first bucket and the catching up
allowed after it, 7 days or 48 hours; drift: its ramp and the same allowance). Precision is the share of
flagged buckets that lie in a window; a flag long after a level shift is a false alarm (alerting forever).
Results go to the console and ``bench/results/anomalies-<timestamp>.md``.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from belvedere.insights.anomaly import DAILY, HOURLY, Season, Sensitivity, judge, rolling_sigma
from belvedere.insights.forecast import project

RESULTS = Path(__file__).resolve().parent / "results"
KINDS = ("spike", "dip", "level_shift", "drift", "holiday", "outage")


@dataclass
class Labelled:
    values: np.ndarray
    phases: np.ndarray
    first: int  # the first scored bucket
    windows: list[tuple[str, int, int]] = field(default_factory=list)  # (kind, first, end) of each anomaly


@dataclass(frozen=True)
class Shape:
    name: str
    season: Season
    scored: int
    per_day: int  # buckets a day
    grace: int  # buckets a level shift may take to be flagged, and after which flags are false alarms
    ramp: int
    outage: int


SHAPES = {
    "day": Shape("day", DAILY, scored=90, per_day=1, grace=7, ramp=14, outage=1),
    "hour": Shape("hour", HOURLY, scored=720, per_day=24, grace=48, ramp=72, outage=4),
}


def _expected_curve(rng: np.random.Generator, shape: Shape, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The noise-free metric and each bucket's phase."""
    per_day = shape.per_day
    daily = float(np.exp(rng.uniform(np.log(3), np.log(20_000))))
    week = np.array([1.0, 1.05, 1.05, 1.0, 0.95, 0.6, 0.5]) * rng.uniform(0.9, 1.1, 7)
    slope = rng.uniform(-0.003, 0.005)  # a day
    t = np.arange(n)
    day = t // per_day
    weekday = day % 7
    curve = daily * week[weekday] * (1 + slope) ** day
    if per_day == 24:
        hour = t % 24
        diurnal = 0.25 + 1.5 * np.exp(-(((hour - rng.uniform(12, 16)) / 4.5) ** 2))
        curve = curve * diurnal / diurnal[:24].mean() / 24
        return curve, weekday * 24 + hour
    return curve, weekday


def make_series(rng: np.random.Generator, shape: Shape, clean: bool) -> Labelled:
    n = shape.season.history + shape.scored
    first = shape.season.history
    curve, phases = _expected_curve(rng, shape, n)
    dispersion = float(rng.choice([20.0, 50.0, 150.0]))  # gamma shape: relative noise 1/sqrt(k)
    factor = np.ones(n)
    windows: list[tuple[str, int, int]] = []
    if not clean:
        gap = shape.grace + shape.ramp + 2 * shape.per_day
        spots = [first + shape.per_day]
        while spots[-1] + 2 * gap < n:
            spots.append(spots[-1] + int(rng.integers(gap, 2 * gap)))
        spots = [at for at in spots if at + gap <= n]
        for at in spots[: int(rng.integers(2, 4))]:
            kind = str(rng.choice(KINDS))
            noise = np.sqrt(curve[at] + (curve[at] / np.sqrt(dispersion)) ** 2)
            size = float(rng.uniform(6, 10)) * noise / curve[at]  # relative, 6-10 noise widths
            relative = np.sqrt(1 / np.maximum(curve, 1e-9) + 1 / dispersion)  # each bucket's noise / mean
            day_end = min(n, (at // shape.per_day + 1) * shape.per_day)
            if kind == "spike":
                factor[at] *= 1 + size
                windows.append((kind, at, at + 1))
            elif kind == "dip":
                if size > 0.85:
                    continue  # too small a metric for a dip to be told from noise
                factor[at] *= 1 - size
                windows.append((kind, at, at + 1))
            elif kind == "level_shift":
                change = max(size, 0.5)
                if rng.random() < 0.5:
                    factor[at:] *= 1 + change
                elif change <= 0.85:
                    factor[at:] *= 1 - change  # down by as many noise widths
                else:
                    continue  # too small a metric for a fall to be told from noise
                windows.append((kind, at, at + shape.grace))
            elif kind == "drift":
                change = max(size, 0.8)
                ramp = np.linspace(0, change, shape.ramp)
                factor[at : at + shape.ramp] *= 1 + ramp
                factor[at + shape.ramp :] *= 1 + change
                windows.append((kind, at, at + shape.ramp + shape.grace))
            elif kind == "holiday":
                start = at - at % shape.per_day
                if 6 * relative[start:day_end].min() > 0.7:
                    continue  # a drop of 70 % within the noise of each bucket
                factor[start:day_end] *= 0.3
                windows.append((kind, start, day_end))
            else:  # outage
                if 6 * relative[at : at + shape.outage].min() > 1:
                    continue  # zeros within the noise: no outage anyone could see
                factor[at : at + shape.outage] = 0
                windows.append((kind, at, at + shape.outage))
    mean = curve * factor
    mixed = rng.gamma(dispersion, 1 / dispersion, n) * mean
    return Labelled(rng.poisson(mixed).astype(float), phases, first, windows)


Method = Callable[[Labelled, Shape], list[bool | None]]


def ours(sensitivity: Sensitivity, season_of: Callable[[Shape], Season] | None = None) -> Method:
    def run(s: Labelled, shape: Shape) -> list[bool | None]:
        season = season_of(shape) if season_of else shape.season
        return [
            None if j is None else j.anomaly for j in judge(s.values, s.phases, season, s.first, sensitivity)
        ]

    return run


def stl(spreads: float) -> Method:
    """A decomposition baseline, as the issue suggests: statsmodels' robust STL (days, a weekly period) or
    MSTL (hours: daily and weekly periods) fitted on the history before each refresh (each day), each bucket
    after it expected at the last trend value plus its seasonal components a period before, flagged beyond
    ``spreads`` robust spreads of the fit's residuals (1.4826 MAD, at least Poisson's)."""
    from statsmodels.tsa.seasonal import MSTL, STL

    def run(s: Labelled, shape: Shape) -> list[bool | None]:
        season, out = shape.season, []
        values = s.values
        for start in range(s.first, len(values), season.refresh):
            history = values[start - season.history : start]
            if shape.per_day == 1:
                fit = STL(history, period=7, robust=True).fit()
                seasonal = np.asarray(fit.seasonal)[:, None]
                periods = (7,)
            else:
                fit = MSTL(history, periods=(24, 168), stl_kwargs={"robust": True}).fit()
                seasonal = np.asarray(fit.seasonal)
                periods = (24, 168)
            trend = float(np.asarray(fit.trend)[-1])
            resid = np.asarray(fit.resid)
            scale = 1.4826 * float(np.median(np.abs(resid - np.median(resid))))
            for h in range(min(season.refresh, len(values) - start)):
                expected = trend + sum(
                    float(seasonal[len(history) - p + h % p, k]) for k, p in enumerate(periods)
                )
                spread = max(scale, float(np.sqrt(max(expected, 0.0) + 1)))
                out.append(bool(abs(values[start + h] - expected) > spreads * spread))
        return list(out)

    return run


def naive(s: Labelled, shape: Shape) -> list[bool | None]:
    return rolling_sigma(s.values, s.first, window=28 * shape.per_day)


def score(series: list[Labelled], flags: list[list[bool | None]]) -> dict[str, float]:
    found: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    flagged = inside = 0
    for s, f in zip(series, flags, strict=True):
        marks = np.array([bool(x) for x in f])
        flagged += int(marks.sum())
        covered = np.zeros(len(marks), bool)
        for kind, a, b in s.windows:
            lo, hi = a - s.first, min(b, len(s.values)) - s.first
            covered[lo:hi] = True
            found[kind][1] += 1
            found[kind][0] += int(marks[lo:hi].any())
        inside += int((marks & covered).sum())
    hits = sum(v[0] for v in found.values())
    events = sum(v[1] for v in found.values())
    out = {f"recall {k}": found[k][0] / found[k][1] for k in KINDS if found[k][1]}
    out["recall"] = hits / events if events else 0.0
    out["precision"] = inside / flagged if flagged else 1.0
    out["f1"] = 2 * out["precision"] * out["recall"] / (out["precision"] + out["recall"] or 1)
    out["false per 100"] = 100 * (flagged - inside) / sum(len(f) for f in flags)
    return out


def backtest(series: list[Labelled], shape: Shape, horizon: int) -> dict[str, float]:
    """``forecast`` against the seasonal naive forecast (the same bucket a cycle before), on the series
    without anomalies: from an origin each day of the scored period, ``horizon`` buckets ahead; the mean
    absolute percentage error of each (buckets with a value of at least 5), and how often the 80 % and 95 %
    intervals held the value."""
    errors: dict[str, list[float]] = {"ours": [], "naive": []}
    held = {80: 0, 95: 0}
    judged = 0
    cycle = shape.season.cycle
    for s in series:
        if s.windows:
            continue
        for origin in range(s.first, len(s.values) - horizon, shape.per_day):
            past, phases = s.values[:origin], s.phases[:origin]
            ahead = s.phases[origin : origin + horizon]
            wide = {c: project(past, phases, ahead, shape.season, c) for c in (80, 95)}
            if wide[80] is None or wide[95] is None:
                continue
            for h in range(horizon):
                truth = s.values[origin + h]
                naive = s.values[origin + h - cycle]
                judged += 1
                for c in (80, 95):
                    band = wide[c][h]  # type: ignore[index]
                    held[c] += int(band.lower <= truth <= band.upper)
                if truth >= 5:
                    errors["ours"].append(abs(wide[80][h].expected - truth) / truth)  # type: ignore[index]
                    errors["naive"].append(abs(naive - truth) / truth)
    return {
        "MAPE ours %": 100 * float(np.mean(errors["ours"])),
        "MAPE seasonal naive %": 100 * float(np.mean(errors["naive"])),
        "80 % interval held %": 100 * held[80] / judged,
        "95 % interval held %": 100 * held[95] / judged,
    }


def latency(path: Path, console: Console) -> list[str]:
    """The kind itself on a real store (bench/query.py's 10 M events, history ending 1 November 2026): 90
    days of days and 30 days of hours, pageviews and unique people, each the first time in this process
    (nothing cached, statements not compiled yet) and again with a new answer cache."""
    from belvedere.query import QueryService, parse_query
    from belvedere.store.duckdb import DuckDBEventStore

    store = DuckDBEventStore(path)
    store.open()
    asked = {
        "90 days of days": {"interval": "day", "date_from": "2026-08-04", "date_to": "2026-11-01"},
        "30 days of hours": {"interval": "hour", "date_from": "2026-10-03", "date_to": "2026-11-01"},
    }
    series = [{"event": "$pageview"}, {"event": "$pageview", "math": "unique_users"}]
    lines = ["", f"## Latency on {path} (ms: first, then a new cache)", ""]
    try:
        for name, window in asked.items():
            body = {"kind": "anomalies", "series": series, **window}
            times = []
            for _ in range(2):
                started = time.perf_counter()
                QueryService(store).run(parse_query(body), project_id=1, timezone="Europe/Paris")
                times.append((time.perf_counter() - started) * 1000)
            line = f"- {name}, 2 series: {times[0]:,.0f} then {times[1]:,.0f}"
            console.print(line)
            lines.append(line)
    finally:
        store.close()
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--series", type=int, default=60, help="labelled series per interval")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--stl", action="store_true", help="also statsmodels' robust STL / MSTL (slow)")
    parser.add_argument("--store", type=Path, help="also time the kind on this events.duckdb (not in use)")
    args = parser.parse_args()
    console = Console(highlight=False)
    methods: dict[str, Method] = {
        "rolling mean +- 3 sd (naive)": naive,
        "seasonal medians, low": ours("low"),
        "seasonal medians, medium": ours("medium"),
        "seasonal medians, high": ours("high"),
        "medium, each hour of the week its own phase": ours(
            "medium", lambda sh: replace(sh.season, day=0) if sh.season.day else sh.season
        ),
        "medium, level from half as many buckets (7 days, 36 hours)": ours(
            "medium", lambda sh: replace(sh.season, level=sh.season.level // 2)
        ),
        "medium, level from the whole history": ours(
            "medium", lambda sh: replace(sh.season, level=sh.season.history)
        ),
    }
    if args.stl:
        methods["robust STL / MSTL, 4 spreads (statsmodels)"] = stl(4.0)
    lines = [f"# Anomaly detection on labelled series, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC", ""]
    lines.append(f"{args.series} series per interval (seed {args.seed}); a quarter without anomalies.")
    for name, shape in SHAPES.items() if args.series else []:
        rng = np.random.default_rng(args.seed)
        series = [make_series(rng, shape, clean=i % 4 == 0) for i in range(args.series)]
        counts = defaultdict(int)
        for s in series:
            for kind, _, _ in s.windows:
                counts[kind] += 1
        table = Table(title=f"interval {name}: " + ", ".join(f"{k} {counts[k]}" for k in KINDS))
        columns = ["precision", "recall", "f1", "false per 100", *(f"recall {k}" for k in KINDS)]
        table.add_column("method")
        for c in [*columns, "ms/series"]:
            table.add_column(c, justify="right")
        lines += ["", f"## Interval: {name}", "", f"Anomalies: {dict(counts)}", ""]
        lines += [
            "| method | " + " | ".join([*columns, "ms/series"]) + " |",
            "|---" * (len(columns) + 2) + "|",
        ]
        for label, method in methods.items():
            started = time.perf_counter()
            flags = [method(s, shape) for s in series]
            ms = (time.perf_counter() - started) * 1000 / len(series)
            result = score(series, flags)
            cells = [f"{result.get(c, float('nan')):.2f}" for c in columns] + [f"{ms:.1f}"]
            table.add_row(label, *cells)
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
        console.print(table)
        horizon = 7 if name == "day" else 24
        found = backtest(series, shape, horizon)
        line = f"forecast, {horizon} {name}s ahead, series without anomalies: " + ", ".join(
            f"{k} {v:.1f}" for k, v in found.items()
        )
        console.print(line)
        lines += ["", line]
    if args.store:
        lines += latency(args.store, console)
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"anomalies-{datetime.now(UTC):%Y%m%d-%H%M%S}.md"
    out.write_text("\n".join(lines) + "\n")
    console.print(f"Written to {out}")


if __name__ == "__main__":
    main()
