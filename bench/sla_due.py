"""SLA due times: shared.business_time against the PyPI package businesstimedelta.

    python -m bench.sla_due [--cases 10000] [--seed 4242] [--rounds 3]

Draws seeded random cases (a start instant in 2025–2027, a target in minutes) on the
o365-standard calendar (Mon–Fri 08:30–16:30 Europe/Warsaw minus Polish public holidays),
computes each due time with our engine and with businesstimedelta (WorkDayRule 08:30–16:30
Mon–Fri in Europe/Warsaw + HolidayRule with the same holiday dates), checks that the two agree on
every case, and times both per call with time.perf_counter_ns. Targets: our median ≤ 10 µs for
`add(start, 240)` and ≥ 30× faster than businesstimedelta. A measurement, not a test: it prints
MET / NOT MET and always exits 0 once it has run. Writes bench/results/sla_due.json.
See bench/README.md.
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import random
import statistics
import sys
import time
from datetime import datetime, time as dtime, timezone
from importlib.metadata import version
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml

from shared.business_time import Calendar

REPO_ROOT = Path(__file__).resolve().parents[1]
RESULTS = REPO_ROOT / "bench" / "results"
CATALOGUE = REPO_ROOT / "services" / "entitlements" / "data" / "catalogue.yaml"
PLAN = "o365-standard"
TZ = "Europe/Warsaw"
TARGET_MEDIAN_US = 10.0
TARGET_SPEEDUP = 30.0
UTC = timezone.utc
CATALOGUE_TARGETS = [240, 540, 1080]  # the catalogue's reaction targets (business_hours plans)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.sla_due", description=__doc__.split("\n\n")[0])
    p.add_argument("--cases", type=int, default=10_000, help="random cases (default 10000)")
    p.add_argument("--seed", type=int, default=4242, help="random seed (default 4242)")
    p.add_argument("--rounds", type=int, default=3,
                   help="timed passes over all cases per implementation; per-call timings are pooled (default 3)")
    return p.parse_args(argv)


def plan_support_hours() -> dict:
    products = yaml.safe_load(CATALOGUE.read_text())["products"]
    plan = next(p for product in products for p in product["plans"] if p["id"] == PLAN)
    return plan["support_hours"]


def make_cases(n: int, seed: int) -> list[tuple[datetime, int]]:
    """Start instants uniform over 2025–2027 (whole seconds, aware UTC); targets half from the
    catalogue's reaction targets, half uniform in 0–3000 minutes."""
    rng = random.Random(seed)
    tz = ZoneInfo(TZ)
    lo = int(datetime(2025, 1, 1, tzinfo=tz).timestamp())
    hi = int(datetime(2028, 1, 1, tzinfo=tz).timestamp())
    cases = []
    for _ in range(n):
        start = datetime.fromtimestamp(rng.randrange(lo, hi), UTC)
        minutes = rng.choice(CATALOGUE_TARGETS) if rng.random() < 0.5 else rng.randint(0, 3000)
        cases.append((start, minutes))
    return cases


def businesstimedelta_rules(cal: Calendar):
    """WorkDayRule 08:30–16:30 Mon–Fri + HolidayRule with exactly our holiday dates, in pytz
    Europe/Warsaw (the package localizes with pytz, so its DST handling is right)."""
    import businesstimedelta
    import pytz

    tz = pytz.timezone(TZ)
    weekly = cal.weekly
    assert set(weekly) == {"mon", "tue", "wed", "thu", "fri"} and set(weekly.values()) == {(("08:30", "16:30"),)}
    workday = businesstimedelta.WorkDayRule(start_time=dtime(8, 30), end_time=dtime(16, 30),
                                            working_days=[0, 1, 2, 3, 4], tz=tz)
    dates = {d for y in range(2024, 2031) for d in cal.holidays_in(y)}
    holiday = businesstimedelta.HolidayRule(dates, tz=tz)
    rules = businesstimedelta.Rules([workday, holiday])

    def due(start: datetime, minutes: int) -> datetime:
        return start + businesstimedelta.BusinessTimeDelta(rules, seconds=minutes * 60)

    return due


def timed(fn, cases: list[tuple[datetime, int]], rounds: int) -> tuple[list[int], float]:
    """Per-call ns (pooled over rounds, timer overhead included) and the best wall time of an
    untimed pass over all cases (seconds)."""
    clock = time.perf_counter_ns
    per_call: list[int] = []
    best_total = float("inf")
    gc.collect()
    gc.disable()
    try:
        for _ in range(rounds):
            for start, minutes in cases:
                t0 = clock()
                fn(start, minutes)
                per_call.append(clock() - t0)
            t0 = time.perf_counter()
            for start, minutes in cases:
                fn(start, minutes)
            best_total = min(best_total, time.perf_counter() - t0)
    finally:
        gc.enable()
    return per_call, best_total


def summary(per_call: list[int], total_s: float, n: int) -> dict:
    ordered = sorted(per_call)
    return {
        "median_us": statistics.median(ordered) / 1000,
        "p99_us": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] / 1000,
        "mean_us": statistics.fmean(ordered) / 1000,
        "total_s": total_s,
        "calls": n,
    }


def timer_overhead_ns() -> float:
    clock = time.perf_counter_ns
    samples = []
    for _ in range(20_000):
        t0 = clock()
        samples.append(clock() - t0)
    return statistics.median(samples)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    spec = plan_support_hours()

    import holidays

    t0 = time.perf_counter()
    holidays.country_holidays(spec["holidays"], years=2024)  # the package loads a country lazily, once
    holidays_load_ms = (time.perf_counter() - t0) * 1000
    t0 = time.perf_counter()
    cal = Calendar.from_spec(spec)
    cal.add(datetime(2026, 1, 1, tzinfo=UTC), 240)  # builds the interval lists of 2025–2027
    cold_ms = (time.perf_counter() - t0) * 1000

    theirs = businesstimedelta_rules(cal)
    ours = cal.add
    cases = make_cases(args.cases, args.seed)

    # correctness: identical due instants on every case
    mismatches = []
    for start, minutes in cases:
        a, b = ours(start, minutes), theirs(start, minutes)
        if a != b:
            mismatches.append((start, minutes, a, b))

    # timing: all cases, then add(start, 240) on the same starts
    for start, minutes in cases[:2000]:  # warm-up (both)
        ours(start, minutes), theirs(start, minutes)
    cases_240 = [(start, 240) for start, _ in cases]
    res = {}
    for label, batch in (("mixed", cases), ("240", cases_240)):
        mine_calls, mine_total = timed(ours, batch, args.rounds)
        their_calls, their_total = timed(theirs, batch, 1 if args.rounds > 1 else args.rounds)
        res[label] = {"shared.business_time": summary(mine_calls, mine_total, len(batch)),
                      "businesstimedelta": summary(their_calls, their_total, len(batch))}
        r = res[label]
        r["speedup_median"] = r["businesstimedelta"]["median_us"] / r["shared.business_time"]["median_us"]
        r["speedup_total"] = r["businesstimedelta"]["total_s"] / r["shared.business_time"]["total_s"]
    overhead = timer_overhead_ns()

    median_240 = res["240"]["shared.business_time"]["median_us"]
    speedup = res["mixed"]["speedup_median"]
    met_median = median_240 <= TARGET_MEDIAN_US
    met_speedup = speedup >= TARGET_SPEEDUP and res["240"]["speedup_median"] >= TARGET_SPEEDUP

    print(f"SLA due times on {PLAN} ({spec['timezone']}, holidays {spec['holidays']}): "
          f"{len(cases)} cases, seed {args.seed}, starts in 2025–2027, targets {CATALOGUE_TARGETS} or 0–3000 min")
    print("Both implementations get the same aware UTC start instants and the same holiday dates; "
          "due times are compared as instants (businesstimedelta localizes with pytz, so DST is handled "
          "by both; an 08:30–16:30 day never straddles a DST change).")
    print()
    print(f"correctness: {len(cases) - len(mismatches)}/{len(cases)} identical, {len(mismatches)} mismatches")
    for start, minutes, a, b in mismatches[:5]:
        print(f"  start {start.astimezone(ZoneInfo(TZ)):%a %Y-%m-%d %H:%M:%S %Z} + {minutes} min: "
              f"ours {a.astimezone(ZoneInfo(TZ)):%a %Y-%m-%d %H:%M:%S}, "
              f"businesstimedelta {b.astimezone(ZoneInfo(TZ)):%a %Y-%m-%d %H:%M:%S}")
    print()
    header = f"{'cases':<8} {'implementation':<22} {'median µs':>10} {'p99 µs':>10} {'mean µs':>10} {'total s':>9}"
    print(header)
    print("-" * len(header))
    for label, r in res.items():
        for impl in ("shared.business_time", "businesstimedelta"):
            s = r[impl]
            print(f"{label:<8} {impl:<22} {s['median_us']:>10.2f} {s['p99_us']:>10.2f} {s['mean_us']:>10.2f} "
                  f"{s['total_s']:>9.3f}")
        print(f"{'':<8} {'speed-up':<22} {r['speedup_median']:>9.1f}× {'':>10} {'':>10} {r['speedup_total']:>8.1f}×")
    print(f"(per-call figures include ~{overhead:.0f} ns of perf_counter_ns overhead; total = best untimed pass "
          f"over {len(cases)} calls)")
    print(f"(once per process: the holidays package's first load of {spec['holidays']} {holidays_load_ms:.0f} ms; "
          f"calendar construction + first call, which builds 2025–2027: {cold_ms:.1f} ms)")
    print()
    print(f"target median ≤ {TARGET_MEDIAN_US:g} µs for add(start, 240): {median_240:.2f} µs — "
          f"{'MET' if met_median else 'NOT MET'}")
    print(f"target speed-up ≥ {TARGET_SPEEDUP:g}× (median, both case sets): {speedup:.1f}× mixed, "
          f"{res['240']['speedup_median']:.1f}× 240 min — {'MET' if met_speedup else 'NOT MET'}")
    if mismatches:
        print()
        print("!" * 78)
        print(f"!!! {len(mismatches)} of {len(cases)} due times DIFFER between shared.business_time and "
              "businesstimedelta.")
        print("!!! The speed figures above compare implementations that do not agree: investigate first.")
        print("!" * 78)

    RESULTS.mkdir(parents=True, exist_ok=True)
    out = {
        "benchmark": "sla_due",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "packages": {name: version(name) for name in ("holidays", "businesstimedelta", "pytz")},
        "plan": PLAN,
        "cases": len(cases),
        "seed": args.seed,
        "rounds": args.rounds,
        "mismatches": len(mismatches),
        "mismatch_examples": [
            {"start": s.isoformat(), "minutes": m, "ours": a.isoformat(), "businesstimedelta": b.isoformat()}
            for s, m, a, b in mismatches[:20]],
        "results": res,
        "timer_overhead_ns": overhead,
        "cold_start_ms": cold_ms,
        "holidays_first_load_ms": holidays_load_ms,
        "targets": {"median_us_add_240": TARGET_MEDIAN_US, "speedup": TARGET_SPEEDUP},
        "met": {"median": met_median, "speedup": met_speedup},
    }
    path = RESULTS / "sla_due.json"
    path.write_text(json.dumps(out, indent=2))
    print(f"\nwrote {path.relative_to(REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
