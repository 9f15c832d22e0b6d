"""The local stack's supervisor (deploy/local/supervisord.conf, what `make up` runs): every
service comes up, a `kill -9` of one is restarted while the others keep running, and the
shutdown stops everything it started."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import pytest

from tests.chaos.supervisor import PROGRAMS, Supervisor
from tests.integration.crawler_support import write_sources
from tests.service_processes import settings_env
from tests.waiting import wait_for

pytestmark = pytest.mark.e2e


def test_a_killed_service_is_restarted_and_the_others_keep_running(
    make_settings: Any, tmp_path: Path
) -> None:
    settings = make_settings(sources_file=write_sources(tmp_path / "sources.yaml", []), log_format="json")
    sup = Supervisor(tmp_path / "run", settings_env(settings))
    sup.start()
    try:
        before = {name: sup.pid(name) for name in PROGRAMS}
        assert all(before.values())
        for name in ("worker", "indexer"):
            killed = sup.signal(name, signal.SIGKILL)
            assert sup.wait_restarted(name, killed) != killed
        wait_for(lambda: all(s == "RUNNING" for s in sup.states().values()), timeout=30, what="all RUNNING")
        assert sup.pid("crawler") == before["crawler"] and sup.pid("crawler_beat") == before["crawler_beat"]
        assert list(sup.states()).count("crawler_beat") == 1
    finally:
        pids = [sup.pid(name) for name in PROGRAMS]
        sup.shutdown()
    assert not sup.alive()
    for pid in pids:
        assert (
            not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text().lower()
        )
