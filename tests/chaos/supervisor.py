"""Drive deploy/local/supervisord.conf from Python: the same file ``make up`` runs.

``Supervisor(run_dir, env).start()`` launches supervisord (it daemonises) with the given
settings in its environment; ``pid(name)``, ``states()``, ``signal(name, sig)`` and
``shutdown()`` go through supervisorctl on the run dir's socket.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from contextlib import suppress
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
CONF = REPO_ROOT / "deploy" / "local" / "supervisord.conf"
PROGRAMS = ("crawler", "crawler_beat", "worker", "indexer")
_BIN = Path(sys.executable).parent


class Supervisor:
    def __init__(self, run_dir: Path, env: dict[str, str]) -> None:
        self.run_dir = run_dir
        run_dir.mkdir(parents=True, exist_ok=True)
        self.env = {
            **env,
            "NEWSFLOW_RUN_DIR": str(run_dir),
            "NEWSFLOW_ROOT": str(REPO_ROOT),
            "PATH": f"{_BIN}:{os.environ.get('PATH', '/usr/bin:/bin')}",
        }
        self.env.setdefault("CRAWLER_CONCURRENCY", "1")
        self.env.setdefault("WORKER_CONCURRENCY", "2")

    @property
    def _pidfile(self) -> Path:
        return self.run_dir / "supervisord.pid"

    def ctl(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(_BIN / "supervisorctl"), "-s", f"unix://{self.run_dir}/supervisor.sock", *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def start(self, timeout: float = 60) -> None:
        subprocess.run([str(_BIN / "supervisord"), "-c", str(CONF)], env=self.env, cwd=REPO_ROOT, check=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            states = self.states()
            if states and all(states.get(p) == "RUNNING" for p in PROGRAMS):
                return
            time.sleep(0.5)
        raise RuntimeError(f"services not RUNNING after {timeout:.0f}s: {self.states()}")

    def alive(self) -> bool:
        try:
            os.kill(int(self._pidfile.read_text().strip()), 0)
        except (FileNotFoundError, ValueError, ProcessLookupError):
            return False
        return True

    def states(self) -> dict[str, str]:
        out = self.ctl("status").stdout
        return {line.split()[0]: line.split()[1] for line in out.splitlines() if len(line.split()) > 1}

    def pid(self, name: str) -> int:
        out = self.ctl("pid", name).stdout.strip()
        return int(out) if out.isdigit() else 0

    def children(self, name: str) -> list[int]:
        """Pool children of a Celery program (its direct child processes)."""
        main = self.pid(name)
        try:
            text = Path(f"/proc/{main}/task/{main}/children").read_text()
        except OSError:
            return []
        return [int(p) for p in text.split()]

    def signal(self, name: str, sig: int = signal.SIGKILL) -> int:
        pid = self.pid(name)
        if pid:
            os.kill(pid, sig)
        return pid

    def wait_restarted(self, name: str, old_pid: int, timeout: float = 60) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pid = self.pid(name)
            if pid and pid != old_pid and self.states().get(name) == "RUNNING":
                return pid
            time.sleep(0.25)
        raise RuntimeError(f"{name} not restarted after {timeout:.0f}s: {self.states()}")

    def shutdown(self, timeout: float = 60, *, fast: bool = False) -> None:
        """Stop every program, then supervisord. ``fast``: SIGKILL the programs' process
        groups right after asking supervisord to shut down (a chaos scenario's services are
        thrown away; their warm shutdown would only cost time)."""
        if not self.alive():
            return
        pid = int(self._pidfile.read_text().strip())
        groups = [self.pid(name) for name in PROGRAMS] if fast else []
        sock = f"unix://{self.run_dir}/supervisor.sock"
        with subprocess.Popen(
            [str(_BIN / "supervisorctl"), "-s", sock, "shutdown"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        ) as ctl:
            time.sleep(0.3 if fast else 0)
            for group in groups:
                if group:
                    with suppress(ProcessLookupError, PermissionError):
                        os.killpg(group, signal.SIGKILL)
            ctl.wait(timeout=timeout)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.25)
        os.kill(pid, signal.SIGKILL)
