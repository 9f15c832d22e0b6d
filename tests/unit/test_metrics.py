"""shared.metrics in one process: outcomes and timings land in the registry; a taken port
does not take the service down."""

from __future__ import annotations

import socket

import pytest
from prometheus_client import REGISTRY, values

from shared import metrics


def _value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_outcomes_count_by_stage_outcome_and_reason() -> None:
    before = _value(
        "newsflow_items_total", service="newsflow", stage="extract", outcome="skipped", reason="no_text"
    )
    metrics.observe_outcome("extract", "skipped", "no_text")
    after = _value(
        "newsflow_items_total", service="newsflow", stage="extract", outcome="skipped", reason="no_text"
    )
    assert after == before + 1


def test_host_busy_outcomes_count_as_host_waits() -> None:
    labels = {"service": "newsflow", "host": "orda.kz"}
    before = _value("newsflow_host_waits_total", **labels)
    metrics.observe_outcome(
        "fetch", "waiting", "host_busy", {"url": "https://orda.kz/x", "wait_seconds": 2.5}
    )
    assert _value("newsflow_host_waits_total", **labels) == before + 1
    assert _value("newsflow_host_wait_seconds_total", **labels) >= 2.5


def test_timed_observes_also_when_the_block_raises() -> None:
    before = _value("newsflow_step_duration_seconds_count", service="newsflow", step="extract")
    with pytest.raises(ValueError), metrics.timed("extract"):
        raise ValueError("boom")
    assert _value("newsflow_step_duration_seconds_count", service="newsflow", step="extract") == before + 1


def test_port_zero_serves_nothing_and_a_taken_port_is_logged_not_fatal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # start_metrics switches the process to multiprocess mode: undo it after this test.
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    monkeypatch.setattr(values, "ValueClass", values.ValueClass)
    monkeypatch.setattr(metrics, "_started_dir", None)
    monkeypatch.setattr(metrics, "_service", metrics._service)
    assert metrics.start_metrics("newsflow", 0) is None
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert metrics.start_metrics("newsflow", port, bind="127.0.0.1") is None
