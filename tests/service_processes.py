"""Real Celery processes for integration and end-to-end tests.

``settings_env`` turns a Settings object into the environment that reproduces it in a child
process; ``celery_worker`` / ``celery_beat`` run ``python -m celery`` from the repository
root, wait until the process is ready, and stop it afterwards (SIGTERM, then SIGKILL). The
child's output goes to a temp file that is printed when the test body fails.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager, suppress
from enum import Enum
from pathlib import Path
from typing import IO

from pydantic import SecretStr

from shared.settings import Settings

REPO_ROOT = Path(__file__).resolve().parent.parent
READY_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0


def settings_env(settings: Settings) -> dict[str, str]:
    """Environment variables that rebuild ``settings`` in a child process.

    Starts from ``os.environ`` (PATH, HOME, locale, ...) without any variable that names a
    setting, then sets one variable per field that has a value. Lists become CSV.
    """
    names = {name.upper() for name in Settings.model_fields}
    env = {k: v for k, v in os.environ.items() if k.upper() not in names}
    for name in Settings.model_fields:
        value = getattr(settings, name)
        if value is None:
            continue
        env[name.upper()] = _to_env(value)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _to_env(value: object) -> str:
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, list | tuple | set | frozenset):
        return ",".join(str(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _node_name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _ping(app_module: str, node: str, env: dict[str, str]) -> bool:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            app_module,
            "inspect",
            "ping",
            "-d",
            node,
            "--timeout",
            "1",
        ],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    return result.returncode == 0 and "pong" in result.stdout


def _log_has(log_path: Path, needle: str) -> bool:
    try:
        return needle in log_path.read_text(errors="replace")
    except FileNotFoundError:
        return False


def _wait_for_line(proc: subprocess.Popen[bytes], log_path: Path, needle: str, what: str) -> None:
    """Until ``needle`` appears in the process's log; fails if it exits or takes too long."""
    deadline = time.monotonic() + READY_TIMEOUT
    while not _log_has(log_path, needle):
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not ready after {READY_TIMEOUT}s")
        time.sleep(0.1)


def _stop(proc: subprocess.Popen[bytes], *, signalled: bool = False) -> None:
    """SIGTERM (unless already sent), wait, then SIGKILL whatever is left of its group."""
    if proc.poll() is None and not signalled:
        proc.send_signal(signal.SIGTERM)
    with suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=STOP_TIMEOUT)
    # The whole process group: prefork children must not outlive the test.
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=STOP_TIMEOUT)


def _print_log(title: str, log_path: Path) -> None:
    text = log_path.read_text(errors="replace") if log_path.exists() else "(no log)"
    tail = text[-20_000:]
    sys.stderr.write(f"\n----- {title} log ({log_path}) -----\n{tail}\n----- end -----\n")


@contextmanager
def _process(
    title: str, args: list[str], env: dict[str, str]
) -> Iterator[tuple[subprocess.Popen[bytes], Path, IO[bytes]]]:
    log_file = tempfile.NamedTemporaryFile(prefix=f"{title}-", suffix=".log", delete=False)  # noqa: SIM115
    log_path = Path(log_file.name)
    proc = subprocess.Popen(
        args,
        cwd=REPO_ROOT,
        env=env,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # own process group, so cleanup reaches prefork children
    )
    ok = False
    try:
        yield proc, log_path, log_file
        ok = True
    finally:
        _stop(proc)
        log_file.close()
        if not ok:
            _print_log(title, log_path)
        else:
            log_path.unlink(missing_ok=True)


def _worker_args(
    app_module: str,
    queues: list[str],
    node: str,
    concurrency: int | None,
    pool: str | None,
    extra_args: Sequence[str],
) -> list[str]:
    # pool/concurrency of None leave the choice to the app's own configuration.
    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        app_module,
        "worker",
        "-Q",
        ",".join(queues),
        "--loglevel",
        "INFO",
        "-n",
        f"{node}@%h",
        *(["--concurrency", str(concurrency)] if concurrency is not None else []),
        *(["--pool", pool] if pool is not None else []),
        "--without-mingle",
        "--without-gossip",
        *extra_args,
    ]


def _wait_ready(
    app_module: str, node: str, proc: subprocess.Popen[bytes], log_path: Path, env: dict[str, str]
) -> None:
    # "ready." is logged at INFO (forced above); a ping is the fallback once half the wait
    # is gone, e.g. if a logging change hid the line.
    started = time.monotonic()
    hostname = os.uname().nodename
    while not _log_has(log_path, "ready."):
        if proc.poll() is not None:
            raise RuntimeError(f"celery worker {node} exited with {proc.returncode}")
        waited = time.monotonic() - started
        if waited > READY_TIMEOUT / 2 and _ping(app_module, f"{node}@{hostname}", env):
            return
        if waited > READY_TIMEOUT:
            raise TimeoutError(f"celery worker {node} not ready after {READY_TIMEOUT}s")
        time.sleep(0.1)


@contextmanager
def celery_workers(
    app_module: str,
    queues: list[str],
    env: dict[str, str],
    *,
    count: int,
    concurrency: int | None = 1,
    pool: str | None = "prefork",
    extra_args: Sequence[str] = (),
    name: str = "worker",
) -> Iterator[list[subprocess.Popen[bytes]]]:
    """Run ``count`` Celery worker nodes at once: started together, stopped together."""
    nodes = [_node_name(f"{name}{i}") for i in range(count)]
    logs = [
        tempfile.NamedTemporaryFile(prefix=f"{n}-", suffix=".log", delete=False)  # noqa: SIM115
        for n in nodes
    ]
    procs: list[subprocess.Popen[bytes]] = []
    ok = False
    try:
        for node, log_file in zip(nodes, logs, strict=True):
            procs.append(
                subprocess.Popen(
                    _worker_args(app_module, queues, node, concurrency, pool, extra_args),
                    cwd=REPO_ROOT,
                    env=env,
                    stdout=log_file,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # own group: cleanup reaches prefork children
                )
            )
        for node, proc, log_file in zip(nodes, procs, logs, strict=True):
            _wait_ready(app_module, node, proc, Path(log_file.name), env)
        yield procs
        ok = True
    finally:
        for proc in procs:  # warm shutdown of all nodes in parallel
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            _stop(proc, signalled=True)
        for node, log_file in zip(nodes, logs, strict=True):
            log_file.close()
            if ok:
                Path(log_file.name).unlink(missing_ok=True)
            else:  # printed, and kept for a closer look
                _print_log(node, Path(log_file.name))


@contextmanager
def celery_worker(
    app_module: str,
    queues: list[str],
    env: dict[str, str],
    *,
    concurrency: int | None = 1,
    pool: str | None = "prefork",
    extra_args: Sequence[str] = (),
    name: str = "worker",
) -> Iterator[subprocess.Popen[bytes]]:
    """Run one Celery worker for ``app_module`` on ``queues``; yields once it is ready.

    The node is ``<name>-<random>@<host>``; its log goes to a temp file that is printed if
    the with-block raises. Stopped with SIGTERM (warm shutdown), SIGKILL after 10 s.
    ``pool``/``concurrency`` of None leave the choice to the app's own configuration.
    """
    with celery_workers(
        app_module,
        queues,
        env,
        count=1,
        concurrency=concurrency,
        pool=pool,
        extra_args=extra_args,
        name=name,
    ) as procs:
        yield procs[0]


@contextmanager
def celery_beat(
    app_module: str,
    env: dict[str, str],
    *,
    extra_args: Sequence[str] = (),
    name: str = "beat",
) -> Iterator[subprocess.Popen[bytes]]:
    """Run Celery beat for ``app_module`` with a throwaway schedule file."""
    node = _node_name(name)
    schedule = Path(tempfile.gettempdir()) / f"{node}-schedule"
    args = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        app_module,
        "beat",
        "--loglevel",
        "INFO",
        "--schedule",
        str(schedule),
        *extra_args,
    ]
    try:
        with _process(node, args, env) as (proc, log_path, _):
            _wait_for_line(proc, log_path, "beat: Starting", f"celery beat {node}")
            yield proc
    finally:
        for leftover in schedule.parent.glob(schedule.name + "*"):
            leftover.unlink(missing_ok=True)


@contextmanager
def indexer_process(env: dict[str, str], *, name: str = "indexer") -> Iterator[subprocess.Popen[bytes]]:
    """Run the indexer process (``python -m services.indexer run``) until the block ends.

    ``INDEXER_NAME`` in ``env`` names its stream consumer; the same name after a restart
    makes it read what it still held first.
    """
    args = [sys.executable, "-m", "services.indexer", "run"]
    env = {**env, "LOG_LEVEL": "INFO"}  # its ready line is logged at INFO
    with _process(_node_name(name), args, env) as (proc, log_path, _):
        _wait_for_line(proc, log_path, "indexer_ready", "indexer")
        yield proc


@contextmanager
def pipeline_processes(settings: Settings, *, crawler: bool = True) -> Iterator[None]:
    """The pipeline as real processes for ``settings``: the indexer and a worker (two prefork
    children), and with ``crawler`` the crawler worker and beat too. Stopped in reverse."""
    from shared.messages import Queue

    env = settings_env(settings)
    with ExitStack() as stack:
        stack.enter_context(indexer_process(env))
        stack.enter_context(celery_worker("services.worker.tasks", [Queue.EXTRACT], env, concurrency=2))
        if crawler:
            stack.enter_context(celery_worker("services.crawler.tasks", [Queue.CRAWL], env, name="crawler"))
            stack.enter_context(celery_beat("services.crawler.tasks", env))
        yield
