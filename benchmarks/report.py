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


# The µs budgets are stated for the machine of the run of 2026-12-06, where bare Flask
# answered /healthz in 43.1 µs; a run on a slower or faster machine (or a noisier moment)
# scales them by its own bare Flask figure, which it prints. Ratios need no scaling.
REFERENCE_BARE_FLASK_US = 43.1


def machine_scale(timings: list[dict[str, Any]]) -> float:
    """This run's bare Flask /healthz over the reference machine's."""
    return float(_row(timings, "bare Flask: /healthz")["median_us"]) / REFERENCE_BARE_FLASK_US


def _us_budget(budget: float, scale: float) -> str:
    return f"+{budget:.0f} µs (x{scale:.2f} here: +{budget * scale:.1f})"


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
    scale = machine_scale(data["timings"])
    for row in data["timings"]:
        over = ""
        budget = ""
        if "baseline" in row:
            over = f"{row['over_baseline_us']:+.1f} µs (x{row['ratio']:.3f}) over {row['baseline']}"
        if row["name"] == "service: /healthz" and budgeted:
            limit = budgets["healthz_over_bare_us"]
            ok = row["over_baseline_us"] <= limit * scale
            budget = f"≤ {_us_budget(limit, scale)}: {_verdict(ok)}"
            verdicts.append(ok)
        if row["name"] == "service: GET /items/<id>" and budgeted:
            ok = row["ratio"] <= budgets["item_ratio"]
            budget = f"≤ x{budgets['item_ratio']:.2f}: {_verdict(ok)}"
            verdicts.append(ok)
        if row["name"] == "service: item read, hand-built dict" and budgeted:
            layer, limit = api_layer_us(data["timings"]), budgets["api_layer_us"]
            ok = layer <= limit * scale
            budget = f"the API layer, {layer:+.1f} µs, ≤ {_us_budget(limit, scale)}: {_verdict(ok)}"
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


def _over(timings: list[dict[str, Any]], name: str) -> float:
    return float(_row(timings, name)["over_baseline_us"])


# The service against the honest peer (benchmarks/contenders.py): (label, the service's row,
# the peer's row), each over the same baseline, bare Flask or the minimal SQLAlchemy app.
PEER_PAIRS = (
    ("/healthz", "service: /healthz", "honest peer: /healthz"),
    ("an ordinary route", "service: a non-probe route", "honest peer: a plain route"),
    (
        "GET /auth/me, logged in",
        "service: GET /auth/me, logged in",
        "honest peer: GET /auth/me, logged in",
    ),
    ("item read", "service: GET /items/<id>", "honest peer: GET /items/<id>"),
    (
        "item create, logged in",
        "service: POST /items, logged in",
        "honest peer: POST /items, logged in",
    ),
)


def breakdown_table(data: dict[str, Any]) -> list[str]:
    """The item read's time by owner (a profile), the minimal app's beside the service's."""
    if "breakdown" not in data:
        return []
    minimal, service = (data["breakdown"][name] for name in data["breakdown"])
    owners = sorted(set(minimal) | set(service), key=lambda o: -service.get(o, 0.0))
    lines = [
        "| Where an item read's time goes (µs, by profile) | minimal SQLAlchemy app | service |",
        "| --- | ---: | ---: |",
    ]
    for owner in owners:
        lines.append(f"| {owner} | {minimal.get(owner, 0.0):.1f} | {service.get(owner, 0.0):.1f} |")
    lines.append(f"| **total** | {sum(minimal.values()):.1f} | {sum(service.values()):.1f} |")
    return lines


def current_table(variants: dict[str, Any]) -> list[str]:
    """The one table to read first: per variant and endpoint, the baseline (bare Flask or the
    minimal SQLAlchemy app), the honest peer and the service, in µs per request in-process,
    and the service's overhead over the baseline as a share of the peer's."""
    lines = [
        "| Variant | Endpoint | baseline µs | honest peer µs | service µs "
        "| service's overhead / peer's |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for name, variant in variants.items():
        if "in_process" not in variant:
            continue
        timings = variant["in_process"]["timings"]
        for label, mine, theirs in PEER_PAIRS:
            service, peer = _row(timings, mine), _row(timings, theirs)
            baseline = _row(timings, service["baseline"])
            ratio = service["over_baseline_us"] / max(peer["over_baseline_us"], 1e-9)
            lines.append(
                f"| {name} | {label} | {baseline['median_us']:.1f} | {peer['median_us']:.1f} "
                f"| {service['median_us']:.1f} | {ratio:.2f} |"
            )
    return lines


def api_layer_us(timings: list[dict[str, Any]]) -> float:
    """What the API layer (schemas, output validation) adds to an item read: the read over a
    hand-built dict, both paired with the same baseline."""
    return _over(timings, "service: GET /items/<id>") - _over(
        timings, "service: item read, hand-built dict"
    )


def peer_table(
    timings: list[dict[str, Any]], budgets: dict[str, float]
) -> tuple[list[str], list[bool]]:
    """The service's overhead against the honest peer's, endpoint by endpoint."""
    limit = budgets["overhead_vs_peer"]
    lines = [
        "| Endpoint | service over its baseline | honest peer over the same | service / peer "
        f"| budget ≤ {limit:.2f} |",
        "| --- | ---: | ---: | ---: | --- |",
    ]
    verdicts = []
    for label, mine, theirs in PEER_PAIRS:
        service, peer = _over(timings, mine), _over(timings, theirs)
        ratio = service / peer if peer > 0 else float("inf")
        ok = ratio <= limit
        verdicts.append(ok)
        lines.append(
            f"| {label} | {service:+.1f} µs | {peer:+.1f} µs | {ratio:.2f} | {_verdict(ok)} |"
        )
    return lines, verdicts


def summary_table(variants: dict[str, Any], budgets: dict[str, float]) -> list[str]:
    """The budgets, one column per variant: the table to read first."""
    measured = {name: v for name, v in variants.items() if "skipped" not in v}
    lines = [
        "| Budget | " + " | ".join(measured) + " |",
        "| --- |" + " --- |" * len(measured),
    ]
    limit = budgets["overhead_vs_peer"]
    rows: dict[str, list[str]] = {
        f"bare Flask /healthz (µs budgets are for {REFERENCE_BARE_FLASK_US} µs, scaled)": [],
        f"/healthz over bare Flask, ≤ +{budgets['healthz_over_bare_us']:.0f} µs (scaled)": [],
        "(hand-written hooks, for comparison)": [],
        "(flask-log-request-id, for comparison)": [],
        "an ordinary route over bare Flask": [],
        f"item read over the minimal SQLAlchemy app, ≤ x{budgets['item_ratio']:.2f}": [],
        f"item read: API layer over a hand-built dict, ≤ +{budgets['api_layer_us']:.0f} µs "
        "(scaled)": [],
        "(item create over the minimal SQLAlchemy app, for the record)": [],
        f"overhead / the honest peer's, worst endpoint, ≤ {limit:.2f}": [],
        "I/O per request within budget": [],
        f"worker memory growth, ≤ {budgets['memory_growth_kib']:.0f} KiB": [],
    }
    for variant in measured.values():
        timings = variant["in_process"]["timings"]
        cells = iter(rows.values())
        next(cells).append(
            f"{_row(timings, 'bare Flask: /healthz')['median_us']:.1f} µs "
            f"(x{machine_scale(timings):.2f})"
        )
        for name in (
            "service: /healthz",
            "hand-written hooks: /healthz",
            "flask-log-request-id: /healthz",
            "service: a non-probe route",
        ):
            next(cells).append(f"{_over(timings, name):+.1f} µs")
        row = _row(timings, "service: GET /items/<id>")
        next(cells).append(f"x{row['ratio']:.3f} ({row['over_baseline_us']:+.0f} µs)")
        next(cells).append(f"{api_layer_us(timings):+.1f} µs")
        row = _row(timings, "service: POST /items, logged in")
        next(cells).append(f"x{row['ratio']:.3f} ({row['over_baseline_us']:+.0f} µs)")
        worst = max(
            (_over(timings, mine) / max(_over(timings, theirs), 1e-9), label)
            for label, mine, theirs in PEER_PAIRS
        )
        next(cells).append(f"{worst[0]:.2f} ({worst[1]})")
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
# The tracing variant's own measure of what OpenTelemetry's Flask instrumentation costs.
INSTRUMENTATION = "Flask instrumentation alone: a plain route"


def options_table(
    variants: dict[str, Any], options: dict[str, str], budgets: dict[str, float]
) -> tuple[list[str], list[bool]]:
    """What each option adds per request: its variant's figures minus its base variant's
    (metrics: measured with and without its middleware in one process, the create aside),
    with the option's budgets: tracing's untraced probe and traced request (against the
    Flask instrumentation alone, measured in the tracing variant's run), metrics on every
    row but the create."""
    lines = [
        "| Option (µs per request added) | "
        + " | ".join(label for label, _ in OPTION_ROWS)
        + " | item reads/s over HTTP (sync), off → on | budget |",
        "| --- |" + " ---: |" * (len(OPTION_ROWS) + 1) + " --- |",
    ]
    verdicts: list[bool] = []
    for name, base_name in options.items():
        variant, base = variants.get(name, {}), variants.get(base_name, {})
        if "in_process" not in variant or "in_process" not in base:
            lines.append(f"| {name} | " + " | ".join("" for _ in OPTION_ROWS) + " | | |")
            continue
        mine, theirs = variant["in_process"]["timings"], base["in_process"]["timings"]
        added = {row: _over(mine, row) - _over(theirs, row) for _, row in OPTION_ROWS}
        http = ""
        if OPTION_HTTP in variant["http"] and OPTION_HTTP in base["http"]:
            off = base["http"][OPTION_HTTP]["requests_per_second"]
            on = variant["http"][OPTION_HTTP]["requests_per_second"]
            http = f"{off:.0f} → {on:.0f}"
        notes = []
        scale = machine_scale(mine)
        if any(r["name"] == INSTRUMENTATION for r in mine):
            probe, limit = added["service: /healthz"], budgets["untraced_probe_us"]
            ok = probe <= limit * scale
            verdicts.append(ok)
            notes.append(
                f"untraced probe {probe:+.1f} µs ≤ {_us_budget(limit, scale)}: {_verdict(ok)}"
            )
            alone = _over(mine, INSTRUMENTATION)
            traced = added["service: a non-probe route"]
            limit = alone * budgets["traced_over_instrumentation"]
            ok = traced <= limit
            verdicts.append(ok)
            notes.append(
                f"traced route {traced:+.1f} µs ≤ the instrumentation alone ({alone:+.1f}) "
                f"x{budgets['traced_over_instrumentation']:.2f} = {limit:+.1f}: {_verdict(ok)}"
            )
        elif "metrics" in name:
            # Measured in one process: each row against the same request without the metrics
            # middleware, paired by round (inprocess.without_metrics). Between two processes
            # an item read moves by more than the budget, a SQLite commit by far more: the
            # create keeps the difference between the variants, unbudgeted.
            paired = variant["in_process"].get("without_metrics")
            assert paired, f"{name}: no request was measured without the metrics middleware"
            for row, unmetered in paired.items():
                added[row] = -_over(mine, unmetered)
            worst = max(added[row] for row in paired)
            limit = budgets["metrics_us"]
            ok = worst <= limit * scale
            verdicts.append(ok)
            notes.append(
                f"every row but the create, with and without the middleware in one process, "
                f"≤ {_us_budget(limit, scale)}: {_verdict(ok)}"
            )
        cells = " | ".join(f"{added[row]:+.1f}" for _, row in OPTION_ROWS)
        lines.append(f"| {name} | {cells} | {http} | {'; '.join(notes)} |")
    return lines, verdicts


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
    out += ["", *current_table(results["variants"]), "", *summary_table(budgeted, budgets)]
    verdicts: list[bool] = []
    if options:
        lines, ok = options_table(results["variants"], options, budgets)
        out += ["", "What each observability option costs:", "", *lines]
        verdicts += ok
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
        if name not in options:
            lines, ok = peer_table(variant["in_process"]["timings"], budgets)
            out += ["### Against the honest peer (in-process)", "", *lines, ""]
            verdicts += ok
        breakdown = breakdown_table(variant["in_process"])
        if breakdown:
            out += ["### Where the time goes", "", *breakdown, ""]
        lines, ok = io_table(variant["in_process"])
        out += ["### I/O per request (counted)", "", *lines, ""]
        verdicts += ok
        out += ["### Over HTTP (gunicorn, one worker, wrk)", "", *http_table(variant["http"]), ""]
        lines, memory_ok = memory_table(variant["memory"], budgets)
        out += ["### Memory of one worker", "", *lines]
        verdicts.append(memory_ok)
    out += ["", f"Budgets: {sum(verdicts)} of {len(verdicts)} met."]
    return "\n".join(out) + "\n", verdicts
