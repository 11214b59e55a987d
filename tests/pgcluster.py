"""A throwaway PostgreSQL cluster for tests, CI and developers (standard library only).

    python -m tests.pgcluster start --dir DIR   # prints the URL, leaves the server running
    python -m tests.pgcluster stop --dir DIR    # stops it and removes DIR
    python -m tests.pgcluster bindir            # prints where initdb/pg_ctl are; exit 1 if none
    python -m tests.pgcluster tempdir           # makes and prints a fresh empty DIR in the fastest place

The cluster is tuned for speed, not durability (fsync, synchronous_commit and full_page_writes off),
listens on 127.0.0.1 only, on a free port, with its unix socket inside DIR, and trusts local and
127.0.0.1 connections. PostgreSQL refuses to run as root, so as root the binaries run as the
unprivileged ``postgres`` user (created with ``useradd --system`` when missing) via ``runuser``.

``create_database``/``drop_database`` need asyncpg; it is imported only when they are called.
"""

from __future__ import annotations

import argparse
import asyncio
import glob
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import uuid
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

PG_USER = "postgres"
_CONF = "imgbot.conf"
_SOCKET_PATH_MAX = 107  # sun_path is 108 bytes on Linux, with its NUL
_SHM_MIN_FREE = 1 << 30


class PgClusterError(RuntimeError):
    pass


def find_bindir() -> Path | None:
    """The directory holding initdb and pg_ctl: PATH first, then /usr/lib/postgresql/*/bin, newest first."""
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    if initdb and pg_ctl:
        a, b = Path(initdb).resolve().parent, Path(pg_ctl).resolve().parent
        if a == b:
            return a
        # Debian's wrappers or mixed symlinks: trust initdb's real directory if pg_ctl lives there too.
        if (a / "pg_ctl").exists():
            return a

    def version(path: str) -> tuple[int, ...]:
        m = re.search(r"/postgresql/([0-9.]+)/bin$", path)
        return tuple(int(p) for p in m.group(1).split(".") if p) if m else ()

    for d in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version, reverse=True):
        p = Path(d)
        if (p / "initdb").exists() and (p / "pg_ctl").exists():
            return p
    return None


def default_parent() -> Path:
    """Where new clusters go: /dev/shm when it is a roomy writable tmpfs (creating a database there takes
    ~20 ms instead of ~400 ms on this project's disks), else the system temp dir."""
    shm = Path("/dev/shm")
    try:
        st = os.statvfs(shm)
        sticky_world_writable = shm.stat().st_mode & 0o1777 == 0o1777  # the postgres user can use it too
        if sticky_world_writable and os.access(shm, os.W_OK | os.X_OK) and st.f_bavail * st.f_frsize >= _SHM_MIN_FREE:
            return shm
    except OSError:
        pass
    return Path(tempfile.gettempdir())


def make_tempdir() -> Path:
    return Path(tempfile.mkdtemp(prefix="imgbot-pg-", dir=default_parent()))


def _is_root() -> bool:
    return os.geteuid() == 0


def _ensure_pg_user() -> None:
    if subprocess.run(["id", "-u", PG_USER], capture_output=True).returncode == 0:
        return
    _run(["useradd", "--system", "--user-group", "--no-create-home", "--shell", "/usr/sbin/nologin", PG_USER])


def _run(cmd: list[str], *, cwd: Path | None = None, as_pg: bool = False) -> str:
    if as_pg and _is_root():
        cmd = ["runuser", "-u", PG_USER, "--", *cmd]
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env={**os.environ, "LC_ALL": "C"})
    if proc.returncode != 0:
        raise PgClusterError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}")
    return proc.stdout


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PgCluster:
    """One cluster in ``root`` (a new temp dir when None): ``root/data``, ``root/server.log``, the socket in root."""

    def __init__(self, root: str | Path | None = None, bindir: Path | None = None) -> None:
        found = bindir or find_bindir()
        if found is None:
            raise PgClusterError("PostgreSQL binaries (initdb, pg_ctl) not found on PATH or in /usr/lib/postgresql")
        self.bindir = found
        self.root = Path(root) if root is not None else make_tempdir()
        self.port: int | None = None

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def url(self) -> str:
        if self.port is None:
            raise PgClusterError("cluster not started")
        return f"postgresql://{PG_USER}@127.0.0.1:{self.port}/postgres"

    def _pg(self, *args: str) -> str:
        return _run([str(self.bindir / args[0]), *args[1:]], cwd=self.root, as_pg=True)

    def start(self, attempts: int = 3) -> str:
        """initdb, configure and ``pg_ctl -w start``; returns the base URL. Retries with a new port if taken."""
        self.root.mkdir(parents=True, exist_ok=True)
        if any(self.root.iterdir()):
            raise PgClusterError(f"{self.root} is not empty")
        if len(str(self.root)) + len("/.s.PGSQL.65535.lock") > _SOCKET_PATH_MAX:
            raise PgClusterError(f"{self.root} is too long for a unix socket path; use a shorter --dir")
        if _is_root():
            _ensure_pg_user()
            shutil.chown(self.root, PG_USER, PG_USER)
        self.root.chmod(0o700)
        try:
            if _is_root() and subprocess.run(["runuser", "-u", PG_USER, "--", "test", "-w", str(self.root)]).returncode:
                raise PgClusterError(f"user {PG_USER} cannot reach {self.root}; choose a directory such as /tmp/NAME")
            self._pg("initdb", "-D", str(self.data), "-U", PG_USER, "-A", "trust", "-E", "UTF8", "--locale=C", "-N")
            (self.data / "pg_hba.conf").write_text(
                "# written by tests/pgcluster.py: trust local and 127.0.0.1 only\n"
                "local all all trust\n"
                "host  all all 127.0.0.1/32 trust\n"
            )
            with (self.data / "postgresql.conf").open("a") as f:
                f.write(f"\ninclude '{_CONF}'\n")
            last: PgClusterError | None = None
            for _ in range(attempts):
                self.port = free_port()
                self._write_conf(self.port)
                try:
                    self._pg(
                        "pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"), "-w", "-t", "60", "start"
                    )
                    return self.url
                except PgClusterError as e:  # most likely the port was taken meanwhile
                    log = self.root / "server.log"
                    last = PgClusterError(f"{e}\n--- server.log ---\n{log.read_text() if log.exists() else ''}")
            raise last or PgClusterError("pg_ctl start failed")
        except BaseException:
            self.stop()
            raise

    def _write_conf(self, port: int) -> None:
        path = self.data / _CONF
        path.write_text(
            "listen_addresses = '127.0.0.1'\n"
            f"port = {port}\n"
            f"unix_socket_directories = '{self.root}'\n"
            "max_connections = 200\n"
            "fsync = off\n"
            "synchronous_commit = off\n"
            "full_page_writes = off\n"
            "max_wal_size = 256MB\n"  # bounded, in case the cluster lives in /dev/shm
        )
        if _is_root():
            shutil.chown(path, PG_USER, PG_USER)

    def stop(self) -> None:
        """Stop the server (immediate mode) if it runs, and remove the directory."""
        if (self.data / "postmaster.pid").exists():
            try:
                self._pg("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
            except PgClusterError:
                if (self.data / "postmaster.pid").exists():
                    raise
        shutil.rmtree(self.root, ignore_errors=True)
        self.port = None

    def __enter__(self) -> PgCluster:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --- per-test databases (need asyncpg) -------------------------------------------------------------


def _run_in_thread(make: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
    """asyncio.run in a fresh thread, so it neither needs nor disturbs the caller's event loop."""
    out: dict[str, Any] = {}

    def target() -> None:
        try:
            out["value"] = asyncio.run(make())
        except BaseException as e:
            out["error"] = e

    t = threading.Thread(target=target, name="pgcluster-sql")
    t.start()
    t.join()
    if "error" in out:
        raise out["error"]
    return out.get("value")


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


async def _create(base_url: str, name: str) -> None:
    import asyncpg  # type: ignore[import-untyped]

    conn = await asyncpg.connect(base_url, timeout=10)
    try:
        # FILE_COPY (PostgreSQL 15+) is about twice as fast as the default WAL_LOG for a tiny template.
        strategy = " STRATEGY FILE_COPY" if conn.get_server_version().major >= 15 else ""
        await conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0{strategy}')
    finally:
        await conn.close()


async def _drop(base_url: str, name: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(base_url, timeout=10)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def create_database(base_url: str, prefix: str = "imgbot_t") -> str:
    """CREATE a new empty database (from template0) on base_url's server; returns its URL."""
    if not re.fullmatch(r"[a-z][a-z0-9_]{0,30}", prefix):
        raise ValueError(f"bad database name prefix {prefix!r}")
    name = f"{prefix}_{uuid.uuid4().hex[:16]}"
    _run_in_thread(lambda: _create(base_url, name))
    return with_database(base_url, name)


def drop_database(base_url: str, db_url: str) -> None:
    """DROP the database db_url names, even with connections still open (WITH (FORCE))."""
    name = urlsplit(db_url).path.lstrip("/")
    if not re.fullmatch(r"[A-Za-z0-9_]+", name) or name == urlsplit(base_url).path.lstrip("/"):
        raise ValueError(f"refusing to drop {name!r}")
    _run_in_thread(lambda: _drop(base_url, name))


# --- CLI -------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.pgcluster", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    for name, text in (("start", "start a cluster in DIR, print its URL"), ("stop", "stop the cluster, remove DIR")):
        p = sub.add_parser(name, help=text)
        p.add_argument("--dir", required=True, type=Path, help="the cluster's directory (absent or empty for start)")
    sub.add_parser("bindir", help="print the PostgreSQL bin directory found; exit 1 if none")
    sub.add_parser("tempdir", help="make a fresh empty directory for start (in /dev/shm when roomy) and print it")
    args = parser.parse_args(argv)

    if args.cmd == "tempdir":
        print(make_tempdir())
        return 0

    if args.cmd == "bindir":
        found = find_bindir()
        if found is None:
            print("PostgreSQL binaries not found", file=sys.stderr)
            return 1
        print(found)
        return 0
    try:
        cluster = PgCluster(args.dir.absolute())
        if args.cmd == "start":
            url = cluster.start()
            (cluster.root / "url").write_text(url + "\n")
            print(url)
        else:
            cluster.stop()
    except PgClusterError as e:
        print(f"pgcluster: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
