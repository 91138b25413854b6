"""A server started as its own process for a test: on a free loopback port, waited for until it
answers, and stopped together with every worker it started.

The gunicorn harness (tests/reliability/harness.py), the installed package (tests/test_install.py)
and the quick start's runserver (tests/test_quick_start_server.py) all start theirs here. Named
apart from pytest-django's ``live_server`` fixture, which serves from a thread of the test process.
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import requests


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def terminate_with_parent() -> None:
    """In the child: get SIGTERM if the test process dies, so a killed run leaves no server."""
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class ServerProcess:
    """``command`` serving http://127.0.0.1:``port``, its output appended to ``log_path``.

    The process leads a session of its own, so stop() reaches the workers a master forks too.
    """

    def __init__(self, command: list, *, port: int, env: dict, cwd: Path, log_path: Path) -> None:
        self.command = command
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.env = env
        self.cwd = cwd
        self.log_path = log_path
        self.process: subprocess.Popen | None = None
        self.stopped = False

    def start(
        self, *, probe: str = "/healthz", timeout: float = 30, workers: int | None = None
    ) -> requests.Response:
        """Start the command and wait until GET ``probe`` answers 200 (and, if given, until
        ``workers`` workers run); returns that answer. A server that exits or does not answer in
        time is stopped, and the error ends with the end of its log."""
        self.stopped = False
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                self.command, cwd=self.cwd, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True, preexec_fn=terminate_with_parent,
            )
        try:
            answer = self._wait_until_serving(probe, timeout)
            if workers is not None:
                self.wait_for_workers(workers)
            return answer
        except BaseException:
            self.stop()  # never leave a server behind, whatever went wrong
            raise

    def _wait_until_serving(self, probe: str, timeout: float) -> requests.Response:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.command[0]} exited: {self.log_tail()}")
            try:
                response = requests.get(self.url + probe, timeout=5)
                if response.status_code == 200:
                    return response
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"no answer from {probe} within {timeout} s: {self.log_tail()}")

    def log_tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:]

    def worker_pids(self) -> list[int]:
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in path.read_text().split()]

    def wait_for_workers(self, count: int, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while len(self.worker_pids()) < count and time.monotonic() < deadline:
            time.sleep(0.05)

    def stop(self, timeout: float = 15) -> None:
        """SIGTERM to the whole session, SIGKILL to whatever is left after ``timeout`` seconds.
        Stopping twice does nothing more; ``process.returncode`` stays readable."""
        if self.process is None or self.stopped:
            return
        self.stopped = True
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        # Workers are in the master's process group; make sure none outlive it.
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
