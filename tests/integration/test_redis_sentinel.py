"""Redis behind Sentinel, with a password, for the shared state and the Celery broker.

Our own redis-server and Sentinel on 127.0.0.1:6396/6397 (the ports this helper may use), the
password in their config files. Both client factories find the master through the Sentinel.
"""

from __future__ import annotations

import json
import socket
import subprocess
import time
from collections.abc import Iterator

import pytest

from shared.celery_app import create_app
from shared.clients import make_broker_redis, make_redis
from shared.deps import Deps
from shared.keys import Keys
from shared.settings import Settings

pytestmark = pytest.mark.integration

PASSWORD = "sentinel-test-pw"
MASTER_PORT, SENTINEL_PORT = 6396, 6397


def _wait_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listens on {port}")


@pytest.fixture(scope="module")
def sentinel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    run = tmp_path_factory.mktemp("sentinel")
    master = run / "master.conf"
    master.write_text(
        f'port {MASTER_PORT}\nbind 127.0.0.1\nsave ""\ndir {run}\nrequirepass {PASSWORD}\nmasterauth {PASSWORD}\n'
    )
    sentinel_conf = run / "sentinel.conf"
    sentinel_conf.write_text(
        f"port {SENTINEL_PORT}\nbind 127.0.0.1\ndir {run}\n"
        f"sentinel monitor newsflow 127.0.0.1 {MASTER_PORT} 1\n"
        f"sentinel auth-pass newsflow {PASSWORD}\n"
        f"requirepass {PASSWORD}\n"
    )
    procs = [
        subprocess.Popen(["redis-server", str(master)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ]
    _wait_port(MASTER_PORT)
    procs.append(
        subprocess.Popen(
            ["redis-server", str(sentinel_conf), "--sentinel"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    )
    _wait_port(SENTINEL_PORT)
    yield f"redis+sentinel://127.0.0.1:{SENTINEL_PORT}/0?master=newsflow"
    for proc in procs:
        proc.terminate()
        proc.wait(timeout=10)


def test_shared_state_client_finds_the_master_through_sentinel(sentinel: str) -> None:
    settings = Settings(redis_url=sentinel, redis_password=PASSWORD)
    r = make_redis(settings)
    r.set("newsflow-sentinel-test", "ok")
    assert r.get("newsflow-sentinel-test") == "ok"
    r.delete("newsflow-sentinel-test")


def test_celery_publishes_through_sentinel_to_its_own_broker(sentinel: str, redis_url: str) -> None:
    # Shared state on the ordinary test Redis, the broker behind Sentinel: two deployments.
    # The broker's password rides in its URL here; REDIS_PASSWORD would apply to both.
    broker_url = sentinel.replace("//", f"//:{PASSWORD}@", 1)
    settings = Settings(redis_url=redis_url, broker_url=broker_url, redis_prefix="tsentinel")
    broker_settings = Settings(redis_url=sentinel, redis_password=PASSWORD)
    app = create_app("sentinel-test", settings)
    app.send_task("worker.process_url", kwargs={"url": "http://a/"}, queue="extract")
    broker = make_broker_redis(settings)
    key = Keys("tsentinel").queue("extract")
    try:
        (raw,) = broker.lrange(key, 0, -1)
        assert json.loads(raw)["headers"]["task"] == "worker.process_url"
        assert make_redis(settings).llen(key) == 0  # nothing went to the shared-state Redis
        assert make_redis(broker_settings).llen(key) == 1
        deps = Deps.build(settings, app)  # backlog and heartbeat read the broker's Redis
        assert deps.dispatcher.backlog("worker.process_url") == 1
        assert deps.broker is not None and deps.broker.llen(key) == 1
    finally:
        broker.delete(key)
