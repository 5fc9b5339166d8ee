"""A throwaway PostgreSQL server for the test run (see shared/stack-notes.md).

``initdb`` refuses to run as root, so as root the server runs as the ``postgres`` user.
The data directory lives in a temporary folder and is removed on stop.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass


def find_pg_bin() -> str | None:
    """The newest installed PostgreSQL server binaries folder, if any."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    return os.path.dirname(candidates[-1]) if candidates else None


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class PgServer:
    """A running server: its URL base and how to stop it."""

    bin_dir: str
    root: str
    port: int

    @property
    def url(self) -> str:
        """URL of the ``postgres`` database."""
        return self.url_for("postgres")

    def url_for(self, database: str) -> str:
        """URL of one database on this server."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def stop(self) -> None:
        """Stop the server at once and remove its files.

        The data folder holds one database per test (hundreds of thousands of files);
        removing it took over a minute, so a detached ``rm -rf`` does it after the run.
        """
        _run_as_owner([f"{self.bin_dir}/pg_ctl", "-D", f"{self.root}/data", "-m", "immediate", "stop"], check=False)
        trash = f"{self.root}.trash"
        try:
            os.rename(self.root, trash)
        except OSError:
            shutil.rmtree(self.root, ignore_errors=True)
            return
        subprocess.Popen(["rm", "-rf", trash], start_new_session=True,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _run_as_owner(argv: list[str], check: bool = True) -> subprocess.CompletedProcess:
    """Run a PostgreSQL tool, as the postgres user when we are root."""
    if os.geteuid() == 0:
        argv = ["runuser", "-u", "postgres", "--", *argv]
    return subprocess.run(argv, check=check, capture_output=True, text=True)


def start() -> PgServer:
    """Initialise and start a server on a free loopback port (about 3 s)."""
    bin_dir = find_pg_bin()
    if bin_dir is None:
        raise RuntimeError("PostgreSQL server binaries not found: apt-get install -y postgresql")
    root = tempfile.mkdtemp(prefix="forms-service-pg-")
    os.chmod(root, 0o755)
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    port = free_port()
    _run_as_owner([f"{bin_dir}/initdb", "-D", f"{root}/data", "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"])
    _run_as_owner([
        f"{bin_dir}/pg_ctl", "-D", f"{root}/data", "-l", f"{root}/server.log", "-w",
        "-o", f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off "
              f"-c full_page_writes=off -c max_connections=200",
        "start",
    ])
    return PgServer(bin_dir, root, port)
