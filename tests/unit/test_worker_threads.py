"""A worker process computes on one BLAS thread, whatever imported numpy first: its
parallelism is the number of processes (services/worker/__init__.py says why)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

_PROBE = """
import json, sys
import elasticsearch  # a client that may load numpy lazily, before or after the worker
import numpy
from threadpoolctl import threadpool_info
before = [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]
import services.worker.article  # what a worker process imports
from services.worker.topic_model import tag_topics
tag_topics("Central bank cuts its key rate", "The bank lowered its rate. " * 50, "en")
after = [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]
print(json.dumps({"before": before, "after": after}))
"""


def test_a_worker_process_uses_one_blas_thread() -> None:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}
    out = subprocess.run(
        [sys.executable, "-c", _PROBE], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    threads = json.loads(out.stdout.strip().splitlines()[-1])
    assert threads["after"] and all(n == 1 for n in threads["after"]), threads
    # numpy alone would use a thread per core (here more than one, or the test shows nothing)
    assert threads["before"] == [os.cpu_count()] or os.cpu_count() == 1, threads
