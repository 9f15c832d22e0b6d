"""``make chaos``: the fault suite of issue 8 on the real stack; prints one row per scenario.

    python -m tests.chaos [--only 1,4,8] [--articles 300]

Own servers on their own ports (Redis 6395, Elasticsearch 9260 behind a proxy on 9261),
the services under deploy/local/supervisord.conf, the generated site of tests/sitegen.
Exit status 1 when any scenario fails, 2 when the suite itself could not run.
"""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path

from tests.chaos.harness import DRAIN_LIMIT, LOCAL, Env, Row, _sh, run_scenario
from tests.chaos.proxy import EsProxy
from tests.chaos.scenarios import SCENARIOS
from tests.chaos.supervisor import REPO_ROOT
from tests.sitegen import generate, serve

_CALIBRATE = """
import sys, time
from datetime import UTC, datetime
from services.worker.article import build_article
from services.worker.build import Page
from services.worker.extract import ExtractOptions
from shared.urls import normalize_url
from tests.sitegen.poison import POISON_PATH, poison_page
from tests.sitegen import GeneratedSite, generate
opts = ExtractOptions(min_text_chars=200, max_html_chars=5_000_000)
def timed(url, html):
    t = time.perf_counter()
    build_article(Page(url=url, source_id="c", fetched_at=datetime.now(UTC)), html, "utf-8", opts, lambda q: None, normalize_url)
    return time.perf_counter() - t
if sys.argv[1] == "normal":
    site = GeneratedSite(generate(int(sys.argv[2]), 1)); site.base_url = "http://127.0.0.1:1"
    longest = sorted(site.articles, key=lambda a: -len(a.story.paragraphs))[:20]
    timed(site.base_url + longest[0].path, site.render(longest[0].path)[2])  # models load once
    print(max(timed(site.base_url + a.path, site.render(a.path)[2]) for a in longest))
else:
    some = GeneratedSite(generate(1, 1)); some.base_url = "http://127.0.0.1:1"
    timed(some.base_url + some.articles[0].path, some.render(some.articles[0].path)[2])  # warm
    print(timed("http://127.0.0.1:1" + POISON_PATH, poison_page("http://127.0.0.1:1").encode()))
"""


def calibrate(articles: int) -> tuple[int, str]:
    """The poison scenario's hard time limit: well above the slowest normal article, well below
    the poison page. Returns (limit, note); limit 0 means the gap is too small to test."""
    py = str(REPO_ROOT / ".venv" / "bin" / "python")
    env = os.environ | {"PYTHONPATH": str(REPO_ROOT)}
    slowest = float(_sh(py, "-c", _CALIBRATE, "normal", str(articles), env=env).strip())
    # 6x the slowest normal article, timed warm (the stack around it is busier than this
    # quiet run), and at least 2 s; the poison page must outlast the limit by half again, so
    # the limit kills it every time while no normal article comes near it.
    limit = max(2, math.ceil(slowest * 6))
    outlast = 1.5 * limit
    try:
        out = subprocess.run(
            [py, "-c", _CALIBRATE, "poison"], capture_output=True, text=True, env=env, timeout=outlast
        )
    except subprocess.TimeoutExpired:
        return limit, f"slowest article {slowest:.2f}s, poison page > {outlast:.0f}s: hard limit {limit}s"
    return 0, f"poison page took only {out.stdout.strip() or '?'}s (limit would be {limit}s)"


@contextmanager
def elasticsearch(port: int, state: str) -> Iterator[None]:
    base = ["env", f"NEWSFLOW_ES_STATE={state}", "ES_HEAP=512m", str(LOCAL / "elasticsearch.sh")]
    running = subprocess.run([*base, "status", str(port)], capture_output=True, check=False).returncode == 0
    if not running:
        _sh(*base, "start", port, timeout=600)
    try:
        yield
    finally:
        if not running:
            subprocess.run([*base, "stop", str(port)], capture_output=True, check=False)


def _dead(row: Row) -> str:
    return ", ".join(f"{n} {reason}" for reason, n in sorted(row.dead.items())) or "0"


def print_table(rows: list[Row], commit: str, elapsed: float) -> None:
    head = (
        f"{'#':>2} {'scenario':<24} {'expected':>8} {'indexed':>7} {'missing':>7} {'dups':>4} "
        f"{'drain s':>7} {'redis MB':>8}  {'result':<6} dead-lettered (reason)"
    )
    print(f"\nchaos table, commit {commit}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {elapsed / 60:.1f} min")
    print(head)
    print("-" * len(head))
    for row in rows:
        drain = "-" if row.drain is None else f"{row.drain:.0f}"
        bound = f"/{row.memory_bound_mb:.1f}" if row.memory_bound_mb is not None else ""
        print(
            f"{row.number:>2} {row.name:<24} {row.expected:>8} {row.indexed:>7} {row.missing:>7} "
            f"{row.duplicates:>4} {drain:>7} {row.redis_peak_mb:>5.1f}{bound:<5}"
            f"{'PASS' if row.passed else 'FAIL':<6} {_dead(row)}"
        )
    print("-" * len(head))
    for row in rows:
        why = "; ".join(row.failures + row.notes)
        if why:
            print(f"{row.number:>2} {row.name}: {why}")
    print(
        f"pass: 0 missing (the poison page must be dead-lettered as poison), 0 duplicates, "
        f"drained <= {DRAIN_LIMIT:.0f}s after the fault ends; scenario 10 also Redis peak <= its bound"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.chaos", description=__doc__)
    parser.add_argument("--only", default="", help="comma-separated scenario numbers")
    parser.add_argument("--articles", type=int, default=300)
    parser.add_argument("--redis-port", type=int, default=6395)
    parser.add_argument("--es-port", type=int, default=9260)
    parser.add_argument("--proxy-port", type=int, default=9261)
    parser.add_argument("--run-dir", type=Path, default=REPO_ROOT / "run" / "chaos")
    args = parser.parse_args(argv)
    chosen = {int(n) for n in args.only.split(",") if n.strip()}
    scenarios = [s for s in SCENARIOS if not chosen or s.number in chosen]
    commit = subprocess.run(
        ["git", "describe", "--always", "--dirty", "--abbrev=7"],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        check=False,
    ).stdout.strip()
    began = time.monotonic()
    rows: list[Row] = []
    es_state = os.environ.get("NEWSFLOW_CHAOS_ES_STATE", "/var/tmp/newsflow-chaos")
    try:
        with ExitStack() as stack:
            articles = generate(args.articles, seed=1)
            site = stack.enter_context(serve(articles, seed=1))
            poison_site = stack.enter_context(serve(articles, seed=1, poison=True))
            stack.enter_context(elasticsearch(args.es_port, es_state))
            proxy = EsProxy(args.es_port, args.proxy_port)
            proxy.start()
            stack.callback(proxy.stop)
            env = Env(args.run_dir, args.redis_port, args.es_port, proxy, site, poison_site, es_state)
            if any(s.poison for s in scenarios):
                env.poison_time_limit, note = calibrate(args.articles)
                print(f"calibration: {note}", flush=True)
            print(
                f"site {site.base_url} ({len(articles)} articles), poison site {poison_site.base_url}",
                flush=True,
            )
            for scenario in scenarios:
                if scenario.poison and not env.poison_time_limit:
                    row = Row(scenario.number, scenario.name, len(articles), error="calibration failed")
                else:
                    row = run_scenario(env, scenario)
                rows.append(row)
                print(
                    f"[{(time.monotonic() - began) / 60:4.1f} min] {row.number} {row.name}: "
                    f"{'PASS' if row.passed else 'FAIL'} in {row.seconds:.0f}s "
                    f"({row.indexed}/{row.expected} indexed, drain {row.drain}) {'; '.join(row.failures)}",
                    flush=True,
                )
    except Exception as exc:
        print(f"chaos suite could not run: {type(exc).__name__}: {exc}", file=sys.stderr)
        if rows:
            print_table(rows, commit, time.monotonic() - began)
        return 2
    print_table(rows, commit, time.monotonic() - began)
    return 0 if all(r.passed for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
