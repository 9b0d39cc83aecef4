"""Real services for the tests: a SeaweedFS S3 server, a standalone Spark cluster, and a faulty S3 proxy.

The test session starts them (see ``conftest.py``) and stops them at the end; nothing here is a mock. Ports are
picked free at start, so several runs (or engineers) on one machine do not collide.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

S3_KEY = "cc-refinery-test-key"
S3_SECRET = "cc-refinery-test-secret"  # test-only credentials of the throw-away SeaweedFS server


def free_port_block(size: int, low: int = 20000, high: int = 30000) -> int:
    """A base port such that base..base+size-1 and base+10000.. (SeaweedFS gRPC) are all free."""
    for _ in range(200):
        base = low + (int.from_bytes(os.urandom(2), "big") % (high - low - size))
        ports = [base + i for i in range(size)] + [base + 10000 + i for i in range(size)]
        if all(_port_free(p) for p in ports):
            return base
    raise RuntimeError("no free port block found")


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _wait(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if condition():
                return
        except Exception:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{what} did not become ready within {timeout:.0f} s")


def _stop(process: subprocess.Popen[bytes], grace: float = 15.0) -> None:
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(5)


class SeaweedFS:
    """``weed mini`` (master, volume, filer and S3 gateway in one process) on loopback."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.process: subprocess.Popen[bytes] | None = None
        self.endpoint = ""

    def start(self) -> str:
        weed = shutil.which("weed") or str(Path(sys.executable).parent / "weed")
        base = free_port_block(12)
        data = self.workdir / "data"
        data.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ, AWS_ACCESS_KEY_ID=S3_KEY, AWS_SECRET_ACCESS_KEY=S3_SECRET)
        command = [
            weed, "mini", f"-dir={data}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-admin.ui=false",
            "-master.telemetry=false", f"-master.port={base}", f"-volume.port={base + 2}",
            f"-filer.port={base + 4}", f"-s3.port={base + 6}", f"-webdav.port={base + 8}",
            f"-admin.port={base + 9}", f"-debug.port={base + 11}",
        ]  # fmt: skip
        log = open(self.workdir / "weed.log", "wb")  # noqa: SIM115 - lives as long as the process
        self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        self.endpoint = f"http://127.0.0.1:{base + 6}"
        _wait(self._bucket_ready, 60, f"SeaweedFS S3 at {self.endpoint}")
        return self.endpoint

    def client(self):  # type: ignore[no-untyped-def]
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id=S3_KEY,
            aws_secret_access_key=S3_SECRET,
        )

    def _bucket_ready(self) -> bool:
        client = self.client()
        client.create_bucket(Bucket="readiness-probe")
        client.put_object(Bucket="readiness-probe", Key="probe", Body=b"ok")
        return client.get_object(Bucket="readiness-probe", Key="probe")["Body"].read() == b"ok"

    def stop(self) -> None:
        if self.process is not None:
            _stop(self.process)
            self.process = None


class SparkCluster:
    """A standalone Spark cluster (1 master + N one-core workers) started from pyspark's ``spark-class``."""

    def __init__(self, workdir: Path, workers: int = 2, worker_memory: str = "2g") -> None:
        self.workdir = workdir
        self.workers = workers
        self.worker_memory = worker_memory
        self.processes: list[subprocess.Popen[bytes]] = []
        self.master_url = ""
        self.ui_port = 0

    @staticmethod
    def spark_home() -> str:
        import pyspark

        return str(Path(pyspark.__file__).parent)

    def start(self) -> str:
        home = self.spark_home()
        env = dict(os.environ, SPARK_HOME=home, SPARK_LOCAL_IP="127.0.0.1", PYSPARK_PYTHON=sys.executable)
        env.pop("SPARK_NO_DAEMONIZE", None)
        base = free_port_block(2 + self.workers)
        self.ui_port = base + 1
        spark_class = os.path.join(home, "bin", "spark-class")
        self.master_url = f"spark://127.0.0.1:{base}"
        self._spawn(
            "master",
            [spark_class, "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port", str(base),
             "--webui-port", str(self.ui_port)],
            env,
        )  # fmt: skip
        _wait(lambda: self._status() is not None, 90, "Spark master")
        for i in range(self.workers):
            work = self.workdir / f"worker{i}"
            work.mkdir(parents=True, exist_ok=True)
            self._spawn(
                f"worker{i}",
                [spark_class, "org.apache.spark.deploy.worker.Worker", self.master_url, "--host", "127.0.0.1",
                 "--cores", "1", "--memory", self.worker_memory, "--webui-port", str(base + 2 + i),
                 "--work-dir", str(work)],
                env,
            )  # fmt: skip
        _wait(lambda: (self._status() or {}).get("aliveworkers", 0) >= self.workers, 120, "Spark workers")
        return self.master_url

    def _spawn(self, name: str, command: list[str], env: dict[str, str]) -> None:
        log = open(self.workdir / f"{name}.log", "wb")  # noqa: SIM115 - lives as long as the process
        self.processes.append(
            subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        )

    def _status(self) -> dict[str, int] | None:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.ui_port}/json/", timeout=2) as response:
            return json.loads(response.read())

    def stop(self) -> None:
        for process in reversed(self.processes):
            _stop(process, grace=10)
        self.processes = []


class FaultyS3Proxy:
    """An HTTP proxy in front of an S3 endpoint that injects the faults Common Crawl readers meet.

    ``plan`` is consumed one entry per GET of an object key containing ``match``: ``"slowdown"`` answers
    503 SlowDown, ``"reset:N"`` forwards N bytes of the response then resets the connection, ``"ok"`` forwards.
    When the plan is used up, ``default`` applies. Every connection carries one request (``Connection: close``).
    """

    def __init__(self, upstream: str, plan: list[str], match: str = ".wet", default: str = "ok") -> None:
        self.upstream_host, self.upstream_port = upstream.split("://", 1)[1].split(":")
        self.plan = list(plan)
        self.match = match
        self.default = default
        self.faults_injected = 0
        self._lock = threading.Lock()
        self._server = socket.socket()
        self._server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._server.bind(("127.0.0.1", 0))
        self._server.listen(64)
        self.endpoint = f"http://127.0.0.1:{self._server.getsockname()[1]}"
        self._running = True
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _next_action(self, head: bytes) -> str:
        request_line = head.split(b"\r\n", 1)[0].decode("latin-1")
        method, target = [*request_line.split(" "), "", ""][:2]
        path = target.split("?", 1)[0]  # object GETs only: a listing names the key in its query string
        if method != "GET" or self.match not in path:
            return "ok"
        with self._lock:
            action = self.plan.pop(0) if self.plan else self.default
            if action != "ok":
                self.faults_injected += 1
            return action

    def _serve(self) -> None:
        while self._running:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(client,), daemon=True).start()

    def _handle(self, client: socket.socket) -> None:
        try:
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = client.recv(65536)
                if not chunk:
                    return
                head += chunk
            head, _, rest = head.partition(b"\r\n\r\n")
            action = self._next_action(head)
            if action == "slowdown":
                body = b"<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>"
                client.sendall(
                    b"HTTP/1.1 503 Slow Down\r\nContent-Type: application/xml\r\nConnection: close\r\n"
                    + f"Content-Length: {len(body)}\r\n\r\n".encode()
                    + body
                )
                return
            lines = [line for line in head.split(b"\r\n") if not line.lower().startswith(b"connection:")]
            upstream = socket.create_connection((self.upstream_host, int(self.upstream_port)))
            upstream.sendall(b"\r\n".join([*lines, b"Connection: close"]) + b"\r\n\r\n" + rest)
            limit = int(action.split(":", 1)[1]) if action.startswith("reset:") else None
            sent = 0
            while True:
                data = upstream.recv(65536)
                if not data:
                    break
                if limit is not None and sent + len(data) >= limit:
                    client.sendall(data[: max(0, limit - sent)])
                    # SO_LINGER 0: close with RST, as a dropped connection looks to the client.
                    client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                    break
                client.sendall(data)
                sent += len(data)
            upstream.close()
        except OSError:
            pass
        finally:
            client.close()

    def stop(self) -> None:
        self._running = False
        self._server.close()
