"""Replay a recorded conversation with the real service against the local service, request by request.

Each request is sent as recorded (translated to 2025-06-01 by `tests.support.recordings`), with the recorded ids
mapped to the local ones: node ids (and any id the local service names itself) are learnt from list answers, in
order. Each answer is compared with the real one: the status code always; for a GET (or an error), every
configuration property the real service reported must be reported with the same value, and a property the real
service left out must not come back empty. Run-time facts (`RUN_TIME`) are not compared.
"""
from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.support.recordings import RUN_TIME, Exchange, Recording

# States a later step relies on: the replay waits (generously) for the local service to reach them.
SETTLED = ("completed", "idle")
WAIT_SECONDS = 120.0
BODY_TYPE = "application/json; odata=minimalmetadata"
# Lists whose objects the service names itself: their items pair with the local ones in order.
SERVICE_NAMED = ("/nodes", "/jobs")


@dataclass(frozen=True)
class Mismatch:
    """One way the local answer differed from the real one."""

    entry: int
    where: str  # "status" or a property path such as "value[batch_disk].taskSchedulingPolicy.nodeFillType"
    detail: str


@dataclass
class Outcome:
    """The figures of one replayed conversation."""

    statuses: int = 0
    statuses_matching: int = 0
    properties: int = 0
    properties_matching: int = 0
    mismatches: list[Mismatch] = field(default_factory=list)


class Replayer:
    """Sends a recording's requests to the local service and compares each answer with the recorded one."""

    def __init__(self, client: httpx.Client, status_only: tuple[str, ...] = ()) -> None:
        self.client = client
        self.ids: dict[str, str] = {}  # recorded id → local id
        self.status_only = status_only  # path fragments whose bodies are not compared (with a reason elsewhere)

    def replay(self, recording: Recording) -> Outcome:
        """Every exchange in order; the outcome counts statuses and properties matched."""
        outcome = Outcome()
        for index, ex in enumerate(recording.exchanges):
            response = self._send(ex)
            outcome.statuses += 1
            if response.status_code == ex.status:
                outcome.statuses_matching += 1
            else:
                outcome.mismatches.append(Mismatch(index, "status", f"real {ex.status}, local "
                                                   f"{response.status_code}: {_error(response)}"))
            if not self._compares(ex):
                continue
            if response.status_code == ex.status:
                self._compare_body(index, ex.path, ex.response, _json(response), outcome)
            else:
                outcome.properties += count_properties(ex.response)  # none of them came back
        return outcome

    def _compares(self, ex: Exchange) -> bool:
        path = ex.path.split("?")[0]
        if any(fragment in path for fragment in self.status_only):
            return False
        return isinstance(ex.response, dict) and (ex.method == "GET" or ex.status >= 400)

    def _send(self, ex: Exchange) -> httpx.Response:
        path = self._map_text(ex.path)
        body = self._map(ex.request)
        if ex.method == "GET" and isinstance(ex.response, dict):
            return self._settled(path, ex.response)
        headers = {"Content-Type": BODY_TYPE} if body is not None else {}
        return self.client.request(ex.method, path, json=body, headers=headers)

    def _settled(self, path: str, recorded: Mapping[str, Any]) -> httpx.Response:
        """GET, waiting (generously) while the local answer has not yet reached a settled state the real one
        reported, or lists fewer objects (a schedule's job, a pool's nodes appear on their own)."""
        wanted = _states(recorded)
        listed = recorded.get("value")
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            response = self.client.get(path)
            got = _json(response)
            settled = not wanted or _states(got) == wanted
            grows = path.split("?")[0].endswith(SERVICE_NAMED)
            if grows and isinstance(listed, list) and isinstance(got, dict) and isinstance(got.get("value"), list):
                settled = settled and len(got["value"]) >= len(listed)  # objects the service makes on its own
            if settled or response.status_code >= 300 or time.monotonic() > deadline:
                return response
            time.sleep(0.2)

    def _map_text(self, text: str) -> str:
        for recorded, local in sorted(self.ids.items(), key=lambda item: -len(item[0])):
            text = text.replace(recorded, local)
        return text

    def _map(self, body: Any) -> Any:
        if isinstance(body, dict):
            return {k: self._map(v) for k, v in body.items()}
        if isinstance(body, list):
            return [self._map(v) for v in body]
        return self._map_text(body) if isinstance(body, str) and self.ids else body

    def _compare_body(self, entry: int, path: str, real: Any, local: Any, outcome: Outcome) -> None:
        if isinstance(real, dict) and isinstance(real.get("value"), list):
            local_items = local.get("value") if isinstance(local, dict) else None
            named_here = path.split("?")[0].endswith(SERVICE_NAMED)
            self._compare_list(entry, real["value"], local_items if isinstance(local_items, list) else [],
                               named_here, outcome)
            return
        _compare(entry, "", real, local, outcome)

    def _compare_list(self, entry: int, real: list[Any], local: list[Any], named_here: bool,
                      outcome: Outcome) -> None:
        """Items pair by id (after mapping); where the local service names the objects itself (nodes, a
        schedule's jobs), the rest pair in order and their ids are learnt. Local items the recording does not
        show (the account's other objects) are not compared."""
        by_id = {str(_item_id(item)).lower(): item for item in local
                 if isinstance(item, dict) and _item_id(item) is not None}
        pairs = []
        for item in real:
            key = self.ids.get(str(_item_id(item)), str(_item_id(item))) if isinstance(item, dict) else ""
            pairs.append((item, by_id.pop(key.lower(), None)))
        unpaired = [item for item in local if isinstance(item, dict) and item in by_id.values()]
        for index, (item, match) in enumerate(pairs):
            if match is None and named_here and unpaired:
                match = unpaired.pop(0)
                self.ids[str(item.get("id"))] = str(match.get("id"))  # a name the local service chose
            label = f"value[{_item_id(item) or index if isinstance(item, dict) else index}]"
            if match is None:
                outcome.properties += count_properties(item) - 1
                _count(outcome, entry, label, False, "in the real list, missing from the local one")
            else:
                _compare(entry, label, item, match, outcome, skip=("id",))


def _item_id(item: Any) -> Any:
    """What names a list item: its id, or the pool it counts (node counts, usage metrics)."""
    return item.get("id", item.get("poolId")) if isinstance(item, dict) else None


def _compare(entry: int, where: str, real: Any, local: Any, outcome: Outcome, skip: tuple[str, ...] = ()) -> None:
    if isinstance(real, dict):
        local_map = local if isinstance(local, dict) else {}
        for key, value in real.items():
            if key in RUN_TIME or key in skip or (key == "id" and not where):
                continue
            path = f"{where}.{key}" if where else key
            if key not in local_map:
                _count(outcome, entry, path, False, f"real {value!r}, local leaves it out")
            else:
                _compare(entry, path, value, local_map[key], outcome)
        for key, value in local_map.items():
            if key not in real and key not in RUN_TIME:
                path = f"{where}.{key}" if where else key
                shown = repr(value) if value in ([], {}, None) else "a value"  # it may be a secret
                _count(outcome, entry, path, False, f"real leaves it out, local reports {shown}")
        return
    if isinstance(real, list) and real and all(isinstance(item, dict) for item in real):
        local_list = local if isinstance(local, list) else []
        for index, item in enumerate(real):
            _compare(entry, f"{where}[{index}]", item, local_list[index] if index < len(local_list) else None,
                     outcome)
        if len(local_list) > len(real):
            _count(outcome, entry, where, False, f"local reports {len(local_list) - len(real)} more items")
        return
    _count(outcome, entry, where, real == local, f"real {real!r}, local {local!r}")


def count_properties(body: Any, root: bool = True) -> int:
    """How many configuration properties (leaves outside RUN_TIME) a real answer reports."""
    if isinstance(body, dict):
        return sum(count_properties(value, False) for key, value in body.items()
                   if key not in RUN_TIME and not (root and key == "id"))
    if isinstance(body, list) and body and all(isinstance(item, dict) for item in body):
        return sum(count_properties(item, root) for item in body)
    return 1


def _count(outcome: Outcome, entry: int, path: str, same: bool, detail: str) -> None:
    outcome.properties += 1
    if same:
        outcome.properties_matching += 1
    else:
        outcome.mismatches.append(Mismatch(entry, path, detail))


def _states(body: Any) -> list[str]:
    """The settled states a body reports (its own, or each listed item's)."""
    if not isinstance(body, dict):
        return []
    items = body["value"] if isinstance(body.get("value"), list) else [body]
    states = [str(item.get("state")) for item in items if isinstance(item, dict) and "state" in item]
    return states if states and all(state in SETTLED for state in states) else []


def _error(response: httpx.Response) -> str:
    """An error answer's code and values, the words that say what was refused."""
    body = _json(response)
    if not isinstance(body, dict):
        return response.text[:200]
    values = {v.get("key"): v.get("value") for v in body.get("values") or [] if isinstance(v, dict)}
    return f"{body.get('code')} {values}"


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None
