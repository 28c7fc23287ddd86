"""The node operations beyond the node verbs: user accounts, remote login settings, extensions and the files a
log upload sends. No HTTP here.

User accounts live in the node's record (stored with its pool) under `users`, keyed by case-folded name. A
password is never kept: only a salted PBKDF2 digest of it, so neither the store nor any response holds it. A
reimage removes the node's accounts, as on a real node.
"""
from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any

import isodate

from batch_service.backend import errors, nodes
from batch_service.backend.core import AccountState, key_of
from batch_service.backend.ids import TICKS_PER_SECOND, iso, ticks_from_unix
from batch_service.backend.models import Model
from batch_service.backend.node_ops import NodeOperations
from batch_service.validation import node_bodies

DEFAULT_USER_LIFETIME = timedelta(days=1)  # "If omitted, the default is 1 day from the current time."
REMOTE_LOGIN_PORT = 22  # the local node is this machine: remote login is its own ssh port
LOG_SUFFIXES = (".txt", ".log")
_PBKDF2_ROUNDS = 100_000
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LogFile:
    """One file a log upload sends: its path on the node and its name under the virtual directory."""

    path: Path
    name: str


def _timestamp_ticks(value: str) -> int:
    moment = isodate.parse_datetime(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return ticks_from_unix(moment.timestamp())


def _password_digest(password: str) -> dict[str, str]:
    salt = os.urandom(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, _PBKDF2_ROUNDS)
    return {"salt": salt.hex(), "pbkdf2": digest.hex()}


class NodeExtras:
    """User accounts, remote login, extensions and log files of the nodes of each pool."""

    def __init__(self, core: AccountState, node_ops: NodeOperations) -> None:
        self._core = core
        self._nodes = node_ops

    # --- user accounts ------------------------------------------------------------------------------------

    def _users(self, pool_id: str, node_id: str) -> tuple[Any, dict[str, Any]]:
        pool, record = self._nodes.node(pool_id, node_id)
        nodes.check_node_rule("users", self._nodes.state_of(record))
        users: dict[str, Any] = record.setdefault("users", {})
        return pool, users

    def create_user(self, pool_id: str, node_id: str, body: object) -> None:
        """POST .../users -> 201; 409 NodeUserExists for a name the node already has."""
        node_bodies.validate("BatchNodeUserCreateOptions", body)
        assert isinstance(body, dict)
        pool, users = self._users(pool_id, node_id)
        name = str(body["name"])
        if key_of(name) in users:
            raise errors.node_user_exists()
        is_admin = bool(body.get("isAdmin", False))
        try:
            self._core.os_accounts.create(pool.model["id"], node_id, name, is_admin)
        except OSError as error:
            raise errors.node_user_account_failed(str(error)) from error
        users[key_of(name)] = {"name": name, "isAdmin": is_admin, **self._account_fields(body)}
        self._core.save_pool(pool)

    def replace_user(self, pool_id: str, node_id: str, user_name: str, body: object) -> None:
        """PUT .../users/{name} -> 200: password, expiryTime and sshPublicKey replaced (omitted = reset)."""
        node_bodies.validate("BatchNodeUserUpdateOptions", body)
        assert isinstance(body, dict)
        pool, users = self._users(pool_id, node_id)
        user = users.get(key_of(user_name))
        if user is None:
            raise errors.node_user_not_found()
        users[key_of(user_name)] = {"name": user["name"], "isAdmin": user["isAdmin"], **self._account_fields(body)}
        self._core.save_pool(pool)

    def delete_user(self, pool_id: str, node_id: str, user_name: str) -> None:
        """DELETE .../users/{name} -> 200; 404 NodeUserNotFound."""
        pool, users = self._users(pool_id, node_id)
        if users.pop(key_of(user_name), None) is None:
            raise errors.node_user_not_found()
        self._core.os_accounts.remove(pool.model["id"], node_id, user_name)
        self._core.save_pool(pool)

    def restore_accounts(self) -> None:
        """Give the users the store holds their OS accounts again (a start removes every leftover account)."""
        for pool in list(self._core.pools.values()):
            for record in self._nodes.records(pool):
                for user in (record.get("users") or {}).values():
                    try:
                        self._core.os_accounts.create(pool.model["id"], record["id"], user["name"], user["isAdmin"])
                    except OSError as error:
                        log.warning("node user %s of %s: %s", user["name"], record["id"], error)

    def _account_fields(self, body: dict[str, Any]) -> dict[str, Any]:
        expiry = body.get("expiryTime")
        if expiry is None:
            ticks = self._core.clock.tick() + int(DEFAULT_USER_LIFETIME.total_seconds()) * TICKS_PER_SECOND
        else:
            ticks = _timestamp_ticks(str(expiry))
        fields: dict[str, Any] = {"expiryTime": iso(ticks)}
        if body.get("password") is not None:
            fields["password"] = _password_digest(str(body["password"]))
        if body.get("sshPublicKey") is not None:
            fields["sshPublicKey"] = str(body["sshPublicKey"])
        return fields

    # --- remote login and extensions ----------------------------------------------------------------------

    def remote_login_settings(self, pool_id: str, node_id: str) -> Model:
        """GET .../remoteloginsettings: the node's address and ssh port."""
        self._nodes.node(pool_id, node_id)
        return {"remoteLoginIPAddress": "127.0.0.1", "remoteLoginPort": REMOTE_LOGIN_PORT}

    def extensions(self, pool_id: str, node_id: str) -> list[Model]:
        """The pool's VM extensions as the node reports them: provisioned, settings without protectedSettings."""
        pool, _ = self._nodes.node(pool_id, node_id)
        declared = (pool.model.get("virtualMachineConfiguration") or {}).get("extensions") or []
        return [{"provisioningState": "Succeeded",
                 "vmExtension": {key: value for key, value in extension.items() if key != "protectedSettings"},
                 "instanceView": {"name": extension["name"], "statuses": [{
                     "code": "ProvisioningState/succeeded", "level": "Info",
                     "displayStatus": "Provisioning succeeded",
                     "message": "Enable succeeded", "time": pool.model.get("creationTime")}]}}
                for extension in declared]

    def extension(self, pool_id: str, node_id: str, name: str) -> Model:
        """One extension by name; 404 ResourceNotFound when the pool declares none of that name."""
        for found in self.extensions(pool_id, node_id):
            if found["vmExtension"]["name"].lower() == name.lower():
                return found
        raise errors.resource_not_found()

    # --- log upload ---------------------------------------------------------------------------------------

    def log_files(self, pool_id: str, node_id: str, body: object) -> tuple[str, list[LogFile]]:
        """The virtual directory `{poolId}/{nodeId}/{guid}/` and the node's log files (`*.txt`, `*.log`) last
        written between startTime and endTime (default: now)."""
        node_bodies.validate_log_upload(body)
        assert isinstance(body, dict)
        pool, record = self._nodes.node(pool_id, node_id)
        start = _timestamp_ticks(str(body["startTime"]))
        end = _timestamp_ticks(str(body["endTime"])) if body.get("endTime") else self._core.clock.tick()
        root = self._core.node_root
        found = []
        for path in sorted(root.rglob("*")):
            if path.is_file() and path.suffix in LOG_SUFFIXES:
                written = ticks_from_unix(path.stat().st_mtime)
                if start <= written <= end:
                    found.append(LogFile(path, path.relative_to(root).as_posix()))
        directory = f"{pool.model['id']}/{record['id']}/{os.urandom(16).hex()}/"
        return directory, found
