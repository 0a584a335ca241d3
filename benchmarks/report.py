"""One Markdown table per measurement, and a verdict for every budget."""

from __future__ import annotations

from typing import Any

IO_BUDGETS = {
    # request: (database checkouts, session reads, session writes); None = not budgeted
    "/healthz": (0, 0, 0),
    "/healthz with a session cookie": (0, 0, 0),
    "anonymous GET /items/<id>": (None, 0, 0),
    "logged-in GET /auth/me": (None, 1, 0),
    "logged-in GET /items/<id>": (None, 1, 0),
}


def _verdict(ok: bool) -> str:
    return "meets" if ok else "**MISSES**"


def in_process_table(
    data: dict[str, Any], budgets: dict[str, float], budgeted: bool = True
) -> tuple[list[str], list[bool]]:
    lines = [
        "| Contender | median µs | min | max | over its baseline (median of rounds) | budget |",
        "| --- | ---: | ---: | ---: | --- | --- |",
    ]
    verdicts = []
    for row in data["timings"]:
        over = ""
        budget = ""
        if "baseline" in row:
            over = f"{row['over_baseline_us']:+.1f} µs (x{row['ratio']:.3f}) over {row['baseline']}"
        if row["name"] == "service: /healthz" and budgeted:
            ok = row["over_baseline_us"] <= budgets["healthz_over_bare_us"]
            budget = f"≤ +{budgets['healthz_over_bare_us']:.0f} µs: {_verdict(ok)}"
            verdicts.append(ok)
        if row["name"] == "service: GET /items/<id>" and budgeted:
            ok = row["ratio"] <= budgets["item_ratio"]
            budget = f"≤ x{budgets['item_ratio']:.2f}: {_verdict(ok)}"
            verdicts.append(ok)
        lines.append(
            f"| {row['name']} | {row['median_us']:.1f} | {row['min_us']:.1f} "
            f"| {row['max_us']:.1f} | {over} | {budget} |"
        )
    for peer, status in data["notes"].items():
        lines.append(f"\n{peer} on this Flask: {status}.")
    return lines, verdicts


def io_table(data: dict[str, Any]) -> tuple[list[str], list[bool]]:
    lines = [
        "| Request | database checkouts | session-store reads | session-store writes | budget |",
        "| --- | ---: | ---: | ---: | --- |",
    ]
    verdicts = []
    for name, counts in data["io"].items():
        got = (counts["database_checkouts"], counts["session_reads"], counts["session_writes"])
        wanted = IO_BUDGETS.get(name)
        budget = ""
        if wanted is not None:
            ok = all(w is None or g <= w for g, w in zip(got, wanted, strict=True))
            verdicts.append(ok)
            budget = _verdict(ok)
        lines.append(f"| {name} | {got[0]} | {got[1]} | {got[2]} | {budget} |")
    return lines, verdicts


def http_table(data: dict[str, Any]) -> list[str]:
    if "skipped" in data:
        return [f"Skipped: {data['skipped']}."]
    lines = [
        "| gunicorn worker: endpoint | requests/s | p50 ms | p99 ms | non-2xx |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for name, run in data.items():
        lines.append(
            f"| {name} | {run['requests_per_second']:.0f} | {run['p50_ms']:.2f} "
            f"| {run['p99_ms']:.2f} | {run['errors']} |"
        )
    return lines


def memory_table(data: dict[str, Any], budgets: dict[str, float]) -> tuple[list[str], bool]:
    ok = data["growth_kib"] <= budgets["memory_growth_kib"]
    return [
        "| RSS after warm-up | after N more requests | growth | after N more again | growth "
        "| budget |",
        "| ---: | ---: | ---: | ---: | ---: | --- |",
        f"| {data['rss_after_warm_up_kib']} KiB | {data['rss_after_kib']} KiB "
        f"(N = {data['requests']}) | {data['growth_kib']} KiB "
        f"| {data['rss_after_second_window_kib']} KiB | {data['second_window_growth_kib']} KiB "
        f"| ≤ {budgets['memory_growth_kib']:.0f} KiB: {_verdict(ok)} |",
    ], ok


def _row(timings: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return next(row for row in timings if row["name"] == name)


def summary_table(variants: dict[str, Any], budgets: dict[str, float]) -> list[str]:
    """The budgets, one column per variant: the table to read first."""
    measured = {name: v for name, v in variants.items() if "skipped" not in v}
    lines = [
        "| Budget | " + " | ".join(measured) + " |",
        "| --- |" + " --- |" * len(measured),
    ]
    rows: dict[str, list[str]] = {
        f"/healthz over bare Flask, ≤ +{budgets['healthz_over_bare_us']:.0f} µs": [],
        "(hand-written hooks, for comparison)": [],
        "(flask-log-request-id, for comparison)": [],
        f"item read over the minimal SQLAlchemy app, ≤ x{budgets['item_ratio']:.2f}": [],
        "(item create over the minimal SQLAlchemy app, for the record)": [],
        "(APIFlask alone on /healthz, for the record)": [],
        "I/O per request within budget": [],
        f"worker memory growth, ≤ {budgets['memory_growth_kib']:.0f} KiB": [],
    }
    for variant in measured.values():
        timings = variant["in_process"]["timings"]
        cells = iter(rows.values())
        for name in (
            "service: /healthz",
            "hand-written hooks: /healthz",
            "flask-log-request-id: /healthz",
        ):
            over = _row(timings, name)["over_baseline_us"]
            next(cells).append(f"{over:+.1f} µs")
        for name in ("service: GET /items/<id>", "service: POST /items, logged in"):
            row = _row(timings, name)
            next(cells).append(f"x{row['ratio']:.3f} ({row['over_baseline_us']:+.0f} µs)")
        over = _row(timings, "APIFlask: /healthz")["over_baseline_us"]
        next(cells).append(f"{over:+.1f} µs")
        _, io_ok = io_table(variant["in_process"])
        next(cells).append("yes" if all(io_ok) else "**no**")
        memory = variant["memory"]
        next(cells).append(
            f"{memory['growth_kib']} KiB, then {memory['second_window_growth_kib']} KiB"
        )
    lines += [f"| {label} | " + " | ".join(cells) + " |" for label, cells in rows.items()]
    return lines


# The rows an option's cost is read from: (label, in-process row), each row's figure over its
# own baseline, which ran in the same process moments apart.
OPTION_ROWS = (
    ("/healthz", "service: /healthz"),
    ("a non-probe route", "service: a non-probe route"),
    ("1 log line", "service: 1 log line"),
    ("item read", "service: GET /items/<id>"),
    ("item create, logged in", "service: POST /items, logged in"),
)
OPTION_HTTP = "sync: service: GET /items/<id>"


def options_table(variants: dict[str, Any], options: dict[str, str]) -> list[str]:
    """What each option adds per request: its variant's figures minus its base variant's."""
    lines = [
        "| Option (µs per request added) | "
        + " | ".join(label for label, _ in OPTION_ROWS)
        + " | item reads/s over HTTP (sync), off → on |",
        "| --- |" + " ---: |" * (len(OPTION_ROWS) + 1),
    ]
    for name, base_name in options.items():
        variant, base = variants.get(name, {}), variants.get(base_name, {})
        if "in_process" not in variant or "in_process" not in base:
            lines.append(f"| {name} | " + " | ".join("" for _ in OPTION_ROWS) + " | |")
            continue
        mine, theirs = variant["in_process"]["timings"], base["in_process"]["timings"]
        cells = []
        for _, row in OPTION_ROWS:
            added = _row(mine, row)["over_baseline_us"] - _row(theirs, row)["over_baseline_us"]
            cells.append(f"{added:+.1f}")
        http = ""
        if OPTION_HTTP in variant["http"] and OPTION_HTTP in base["http"]:
            off = base["http"][OPTION_HTTP]["requests_per_second"]
            on = variant["http"][OPTION_HTTP]["requests_per_second"]
            http = f"{off:.0f} → {on:.0f}"
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {http} |")
    return lines


def report(results: dict[str, Any], budgets: dict[str, float]) -> tuple[str, list[bool]]:
    machine = results["machine"]
    settings = results["settings"]
    out = [
        "# Benchmark results",
        "",
        f"{machine['date']}, {machine['cpu']}, {machine['cores']} cores, "
        f"Python {machine['python']}, {machine['system']}. In-process: "
        f"{settings['rounds']} rounds of {settings['calls']} requests per contender, "
        f"shuffled in every round; wrk: {settings['seconds']} s per run.",
    ]
    options = results.get("options", {})
    budgeted = {n: v for n, v in results["variants"].items() if n not in options}
    out += ["", *summary_table(budgeted, budgets)]
    if options:
        out += [
            "",
            "What each observability option costs:",
            "",
            *options_table(results["variants"], options),
        ]
    verdicts: list[bool] = []
    for name, variant in results["variants"].items():
        out += ["", f"## {name}", ""]
        if "skipped" in variant:
            out.append(f"Skipped: {variant['skipped']}.")
            continue
        if name in options:
            out += [f"An option on {options[name]}: the time budgets are that variant's.", ""]
        lines, ok = in_process_table(variant["in_process"], budgets, name not in options)
        out += ["### In-process cost per request", "", *lines, ""]
        verdicts += ok
        lines, ok = io_table(variant["in_process"])
        out += ["### I/O per request (counted)", "", *lines, ""]
        verdicts += ok
        out += ["### Over HTTP (gunicorn, one worker, wrk)", "", *http_table(variant["http"]), ""]
        lines, memory_ok = memory_table(variant["memory"], budgets)
        out += ["### Memory of one worker", "", *lines]
        verdicts.append(memory_ok)
    out += ["", f"Budgets: {sum(verdicts)} of {len(verdicts)} met."]
    return "\n".join(out) + "\n", verdicts
