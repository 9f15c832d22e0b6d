"""The pure half of shared/source_health.py: rates, last times, usual gap and the silent flag."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.source_health import SourceHealth, is_silent, render_table, summarize_notes, usual_gap


def test_notes_become_rates_reasons_and_last_times() -> None:
    raw = {
        "n:crawl:crawled": "8",
        "n:crawl:failed:http_5xx": "2",
        "n:extract:extracted": "6",
        "n:extract:skipped:no_text": "3",
        "n:extract:wait:host_busy": "5",  # a wait is not an outcome yet
        "n:extract:dead_letter:internal_error": "1",
        "t:crawl:crawled": "1000.0",
        "t:crawl:failed": "2000.0",
    }
    notes = summarize_notes(raw)
    assert notes["items"] == 25 and notes["polls"] == 10 and notes["poll_errors"] == 2
    assert notes["errors"] == 3 and notes["skips"] == 3
    assert notes["error_rate"] == round(3 / 25, 4) and notes["skip_rate"] == round(3 / 25, 4)
    assert notes["reasons"] == {"http_5xx": 2, "no_text": 3, "host_busy": 5, "internal_error": 1}
    assert notes["top_reason"] == "host_busy"
    assert notes["last_poll_at"] == datetime.fromtimestamp(2000, UTC).isoformat()
    assert notes["last_success_at"] == datetime.fromtimestamp(1000, UTC).isoformat()


def test_no_notes_is_all_zero() -> None:
    notes = summarize_notes({})
    assert notes["items"] == 0 and notes["error_rate"] == 0 and notes["last_success_at"] is None


def test_usual_gap_is_the_median_gap_between_articles() -> None:
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    published = [t0 + timedelta(hours=h) for h in (0, 1, 2, 4, 5)]  # gaps 1, 1, 2, 1 h
    assert usual_gap(published) == 3600.0
    assert usual_gap([t0]) is None and usual_gap([]) is None


@pytest.mark.parametrize(
    ("silent_for", "gap", "floor", "expected"),
    [
        (4 * 3600, 3600, 600, True),  # 4 h quiet, usually hourly
        (2 * 3600, 3600, 600, False),  # within 3x the usual gap
        (1800, 60, 3600, False),  # a fast source, but we poll at most hourly
        (None, 3600, 600, False),  # no article yet: not judged
        (10**6, None, 600, False),  # one article: no usual gap
    ],
)
def test_silent_means_quiet_for_longer_than_three_usual_gaps(
    silent_for: float | None, gap: float | None, floor: float, expected: bool
) -> None:
    assert is_silent(silent_for, gap, floor) is expected


def test_table_flags_silent_sources() -> None:
    now = datetime(2026, 1, 2, tzinfo=UTC)
    rows = [
        SourceHealth(
            source="orda-en", last_success_at=(now - timedelta(minutes=5)).isoformat(), articles_per_day=40
        ),
        SourceHealth(source="vlast", silent=True, top_reason="http_5xx", error_rate=0.5),
    ]
    table = render_table(rows, now).splitlines()
    assert table[0].startswith("source") and "last ok poll" in table[0]
    assert table[1].startswith("orda-en") and "5.0m ago" in table[1] and "40" in table[1]
    assert table[2].startswith("vlast") and table[2].endswith("SILENT") and "50%" in table[2]
