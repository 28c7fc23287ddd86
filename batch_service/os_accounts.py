"""Node users as real accounts of this machine, where the platform allows it.

When the service runs as root on Linux and `useradd`/`userdel` exist, a node user (and a pool user account a
task names) becomes an OS account, and a task whose userIdentity names it runs as that account. Elsewhere, or
with `--os-users off`, users stay records only and every task runs as the service's own user.

Account names never collide with real ones: `batch-` then a short digest of the data directory (so services
with different data directories never touch each other's accounts), of the pool, of the node and of the user
name, 31 characters in all. Removing by prefix therefore removes one user, one node's, one pool's or the whole
service's accounts. A request's password is never handed to the OS: the account is locked for password login.
An admin user is a member of the service's own `batch-<digest>-adm` group, never of sudo or wheel.
"""
from __future__ import annotations

import grp
import hashlib
import logging
import os
import pwd
import shutil
import subprocess
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

PREFIX = "batch-"


@dataclass(frozen=True)
class Credentials:
    """The uid, gid and supplementary groups a task process takes."""

    uid: int
    gid: int
    groups: tuple[int, ...]


def _digest(value: str, length: int) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()[:length]


def platform_supports_accounts() -> bool:
    """Root on Linux with useradd, userdel, groupadd and groupdel on PATH."""
    return (sys.platform.startswith("linux") and os.geteuid() == 0
            and all(shutil.which(tool) for tool in ("useradd", "userdel", "groupadd", "groupdel")))


class OsAccounts:
    """The OS accounts of one service instance; does nothing at all when disabled."""

    def __init__(self, data_dir: Path, enabled: bool) -> None:
        self.enabled = enabled
        self._service = PREFIX + _digest(str(data_dir.resolve()), 5)
        self.admin_group = f"{self._service}-adm"
        self._lock = threading.Lock()  # useradd and userdel run from the loop and from task-start threads

    @classmethod
    def disabled(cls) -> OsAccounts:
        """Records only: no account is ever created."""
        return cls(Path("."), enabled=False)

    # --- names ----------------------------------------------------------------------------------------

    def _pool_prefix(self, pool_id: str) -> str:
        return self._service + _digest(pool_id.lower(), 5)

    def _node_prefix(self, pool_id: str, node_id: str) -> str:
        return self._pool_prefix(pool_id) + _digest(node_id, 5)

    def account_name(self, pool_id: str, node_id: str, user_name: str) -> str:
        """The OS name of a node's user (user names are case-insensitive, as in the API)."""
        return self._node_prefix(pool_id, node_id) + _digest(user_name.lower(), 10)

    # --- changes --------------------------------------------------------------------------------------

    def create(self, pool_id: str, node_id: str, user_name: str, is_admin: bool) -> None:
        """Create the account (no-op when disabled or already there); raise OSError when useradd fails."""
        if not self.enabled:
            return
        name = self.account_name(pool_id, node_id, user_name)
        with self._lock:
            if _exists(name):
                return
            command = ["useradd", "--create-home", "--user-group", "--shell", "/bin/sh",
                       "--comment", f"Batch node user {user_name}"]
            if is_admin:
                self._ensure_admin_group()
                command += ["--groups", self.admin_group]
            _run([*command, name])

    def remove(self, pool_id: str, node_id: str, user_name: str) -> None:
        """Remove one node user's account, if it exists."""
        self._remove_prefixed(self.account_name(pool_id, node_id, user_name))

    def remove_node(self, pool_id: str, node_id: str) -> None:
        """Remove every account of a node (reimage, node removal)."""
        self._remove_prefixed(self._node_prefix(pool_id, node_id))

    def remove_pool(self, pool_id: str) -> None:
        """Remove every account of a pool's nodes (pool delete)."""
        self._remove_prefixed(self._pool_prefix(pool_id))

    def remove_all(self) -> None:
        """Remove every account and the admin group of this service (start and stop)."""
        if not self.enabled:
            return
        self._remove_prefixed(self._service)
        with self._lock:
            if _group_exists(self.admin_group):
                _run(["groupdel", self.admin_group], quiet=True)

    def credentials(self, pool_id: str, node_id: str, user_name: str) -> Credentials | None:
        """Who a task of `user_name` runs as: None when disabled or the node has no such account."""
        if not self.enabled:
            return None
        try:
            entry = pwd.getpwnam(self.account_name(pool_id, node_id, user_name))
        except KeyError:
            return None
        groups = tuple(os.getgrouplist(entry.pw_name, entry.pw_gid))
        return Credentials(entry.pw_uid, entry.pw_gid, groups)

    def for_task(self, pool_id: str, node_id: str, user_name: str, pool_user_admin: bool | None,
                 directories: Sequence[Path]) -> Credentials | None:
        """Who a task of `user_name` runs as, its directories made that account's own. A pool user account
        (pool_user_admin not None) is created on the node at its first task; None for a user the node lacks."""
        if pool_user_admin is not None:
            self.create(pool_id, node_id, user_name, pool_user_admin)
        credentials = self.credentials(pool_id, node_id, user_name)
        if credentials is not None:
            for directory in directories:
                os.chown(directory, credentials.uid, credentials.gid)
        return credentials

    # --- helpers --------------------------------------------------------------------------------------

    def _remove_prefixed(self, prefix: str) -> None:
        if not self.enabled:
            return
        with self._lock:
            for entry in pwd.getpwall():
                if entry.pw_name.startswith(prefix):
                    # --force: a task of the user may still be ending (its process keeps the bare uid)
                    _run(["userdel", "--force", "--remove", entry.pw_name], quiet=True)

    def _ensure_admin_group(self) -> None:
        if not _group_exists(self.admin_group):
            _run(["groupadd", self.admin_group])


def _exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def _group_exists(name: str) -> bool:
    try:
        grp.getgrnam(name)
    except KeyError:
        return False
    return True


def _run(command: list[str], quiet: bool = False) -> None:
    """Run one account tool; userdel's "mail spool not found" and similar notes are not failures."""
    result = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        message = result.stderr.strip() or f"exit code {result.returncode}"
        if quiet:
            log.warning("%s %s: %s", command[0], command[-1], message)
            return
        raise OSError(f"{command[0]} {command[-1]}: {message}")
