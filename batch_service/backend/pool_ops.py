"""Pool operations beyond create/get/delete: PATCH and updateproperties, resize and stop resize, node removal
and autoscale (section 2.4). No HTTP here.

A resize or a node removal puts the pool's allocationState to `resizing` at once; the nodes change
--resize-delay seconds later (there is no VM to wait for, but clients poll for `steady`, as the SDK's
begin_resize_pool does). Nodes that must finish their tasks first (taskcompletion, retaineddata) are
`leavingpool` until then, and the pool stays `resizing` until they are gone. Locally a task's retained data
lives on the one shared node directory, so `retaineddata` waits for running tasks like `taskcompletion`.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import functools
from collections.abc import Mapping
from typing import Any

from batch_api.defaults import normal_duration
from batch_service.backend import autoscale, autoscale_metrics, errors, nodes
from batch_service.backend.conditions import NO_CONDITIONS, Conditions
from batch_service.backend.core import AccountState, Entry, key_of
from batch_service.backend.ids import iso
from batch_service.backend.models import POOL_ORDER, Model, ordered, stamp
from batch_service.backend.node_ops import NodeOperations
from batch_service.backend.nodes import Record
from batch_service.durations import duration_seconds
from batch_service.validation import bodies

MIN_RESIZE_TIMEOUT = 5 * 60  # seconds; shorter resize timeouts are refused with 400 (Pool - Resize)
MIN_AUTOSCALE_INTERVAL, MAX_AUTOSCALE_INTERVAL = 5 * 60, 168 * 3600  # section 3.3
DEFAULT_AUTOSCALE_INTERVAL = "PT15M"
SAMPLE_SECONDS = autoscale_metrics.SAMPLE_PERIOD.total_seconds()
MAX_NODES_PER_REMOVAL = 100
# PATCH changes these whenever asked; the others only while the pool has no node (a node would have to be
# rebuilt to take them).
_PATCH_ANY_TIME = ("startTask", "applicationPackageReferences", "metadata")
_PATCH_WHEN_EMPTY = ("displayName", "vmSize", "enableInterNodeCommunication", "virtualMachineConfiguration",
                     "taskSlotsPerNode", "taskSchedulingPolicy", "networkConfiguration", "userAccounts",
                     "mountConfiguration", "upgradePolicy")


# What a pool-create body may hold (section 3.3), and of that what sizes the pool.
_CREATE_FIELDS = frozenset(("id", *_PATCH_ANY_TIME, *_PATCH_WHEN_EMPTY, "resizeTimeout", "targetDedicatedNodes",
                            "targetLowPriorityNodes", "enableAutoScale", "autoScaleFormula",
                            "autoScaleEvaluationInterval"))
_SIZING = ("resizeTimeout", "targetDedicatedNodes", "targetLowPriorityNodes", "enableAutoScale", "autoScaleFormula",
           "autoScaleEvaluationInterval")


def _body(body: object) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise errors.invalid_request_body("The body must be a JSON object.")
    return body


def _count(body: Mapping[str, Any], name: str) -> int:
    value = body.get(name, 0)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise errors.invalid_property(name, "Expected a whole number of nodes, 0 or more.")
    return value


def _duration(body: Mapping[str, Any], name: str, minimum: float, maximum: float | None = None) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    try:
        seconds = duration_seconds(value) if isinstance(value, str) else None
    except ValueError:
        seconds = None
    if seconds is None or seconds < minimum or (maximum is not None and seconds > maximum):
        raise errors.invalid_property(name, f"Expected an ISO 8601 duration of at least {minimum / 60:g} minutes"
                                      + (f" and at most {maximum / 3600:g} hours." if maximum else "."))
    return str(normal_duration(value))  # reported in its normal form: PT06M00S is PT6M


class PoolOperations:
    """Resize, node removal, autoscale and the pool updates."""

    def __init__(self, core: AccountState, nodes: NodeOperations) -> None:
        self._core = core
        self._nodes = nodes
        nodes.after_drop = self._settle_allocation
        self.metrics = autoscale_metrics.MetricHistory()

    # --- creation (called when a pool is added) ------------------------------------------------------------

    def allocate_new_pool(self, pool: Entry) -> None:
        model = pool.model
        if model.get("enableAutoScale"):
            self._evaluate_and_store(pool)
            model["targetDedicatedNodes"], model["targetLowPriorityNodes"] = self._formula_targets(pool, (0, 0))
            self._arm_autoscale(pool)
        allocation = nodes.allocate(int(model.get("targetDedicatedNodes") or 0),
                                    int(model.get("targetLowPriorityNodes") or 0), self._core.max_nodes)
        self._nodes.add_nodes(pool, allocation.dedicated, allocation.low_priority)
        if allocation.errors:
            model["resizeErrors"] = allocation.errors
        self._nodes.count_nodes(pool)
        pool.model = ordered(model, POOL_ORDER)

    def resume_pools(self) -> None:
        """After a restart: reboots and removals in flight finish, resizes complete, autoscale re-arms."""
        for pool in list(self._core.pools.values()):
            if pool.state == "deleting":
                continue
            for record in self._nodes.records(pool):
                settled = nodes.SETTLED_ON_RESTART.get(record["condition"])
                if settled is not None:
                    nodes.move_condition(record, settled, iso(self._core.clock.tick()))
            leaving = [record for record in self._nodes.records(pool) if record["condition"] == "leavingpool"]
            if leaving:
                self._nodes.drop_nodes(pool, leaving)
            option = str(pool.extra.get("deallocation", "requeue"))
            if pool.model.get("allocationState") == "resizing" and "removing" in pool.extra:
                self._finish_removal(key_of(pool.model["id"]), tuple(pool.extra["removing"]), option)
            elif pool.model.get("allocationState") == "resizing":
                self._finish_resize(key_of(pool.model["id"]), option)
            elif pool.model.get("allocationState") == "stopping":
                self._finish_stop(key_of(pool.model["id"]))
            if pool.model.get("enableAutoScale"):
                self._arm_autoscale(pool)

    # --- PATCH and updateproperties -----------------------------------------------------------------------

    def update_pool(self, pool_id: str, body: object, conditions: Conditions = NO_CONDITIONS) -> Model:
        """PATCH /pools/{id}: replace the properties present; node-shaping ones only while it has no node."""
        pool = self._pool_to_change(pool_id, conditions)
        changes = _body(body)
        unknown = sorted(set(changes) - set(_PATCH_ANY_TIME) - set(_PATCH_WHEN_EMPTY))
        if unknown:
            raise errors.invalid_property(unknown[0], "This property cannot be updated on a pool.")
        shaping = [name for name in _PATCH_WHEN_EMPTY if name in changes]
        if shaping and self._nodes.records(pool):
            raise errors.invalid_for_current_state(f"{shaping[0]} can change only while the pool has no nodes.")
        self._validate_pool_change(pool, changes)
        pool.model.update(changes)
        self._changed(pool)
        return pool.model

    def replace_pool_properties(self, pool_id: str, body: object, conditions: Conditions = NO_CONDITIONS) -> Model:
        """POST /pools/{id}/updateproperties: startTask (removed when absent), package references, metadata."""
        pool = self._pool_to_change(pool_id, conditions)
        given = _body(body)
        for name in ("applicationPackageReferences", "metadata"):
            if not isinstance(given.get(name), list):
                raise errors.missing_property(name)
        unknown = sorted(set(given) - set(_PATCH_ANY_TIME))
        if unknown:
            raise errors.invalid_property(unknown[0], "updateproperties replaces startTask, "
                                          "applicationPackageReferences and metadata only.")
        self._validate_pool_change(pool, given)
        for name in _PATCH_ANY_TIME:
            pool.model[name] = given.get(name) or None  # an empty list is left out, as the service reports it
        self._changed(pool)
        return pool.model

    def _validate_pool_change(self, pool: Entry, changes: Mapping[str, Any]) -> None:
        """Check the changed properties with the pool-create rules (types, enums, limits), on the pool as it
        would be; the sizing properties are left out, they are not what PATCH changes."""
        candidate = {name: value for name, value in pool.model.items() if name in _CREATE_FIELDS
                     and name not in _SIZING}
        bodies.validate_pool_create({**candidate, **changes})

    def _pool_to_change(self, pool_id: str, conditions: Conditions) -> Entry:
        pool = self._core.pool_entry(pool_id)
        conditions.check(pool.model, read=False)
        if pool.state == "deleting":
            raise errors.pool_being_deleted()
        return pool

    def _changed(self, pool: Entry) -> None:
        stamp(pool.model, self._core.clock.tick())
        pool.model = ordered(pool.model, POOL_ORDER)
        self._core.save_pool(pool)
        self._core.lifecycle.nodes_changed(pool.model["id"])

    # --- resize and stop resize ---------------------------------------------------------------------------

    def resize_pool(self, pool_id: str, body: object, conditions: Conditions = NO_CONDITIONS) -> Model:
        """POST /pools/{id}/resize: `resizing` now, the nodes --resize-delay seconds later."""
        pool = self._pool_to_change(pool_id, conditions)
        given = _body(body)
        dedicated, low = _count(given, "targetDedicatedNodes"), _count(given, "targetLowPriorityNodes")
        timeout = _duration(given, "resizeTimeout", MIN_RESIZE_TIMEOUT)
        option = nodes.option_of(given, "nodeDeallocationOption", nodes.DEALLOCATION_OPTIONS)
        if pool.model.get("enableAutoScale"):
            raise errors.invalid_for_current_state("The pool has autoscale enabled; disable it to resize.")
        self._require_steady(pool)
        if timeout is not None:
            pool.model["resizeTimeout"] = timeout
        self._begin_resize(pool, dedicated, low, option)
        return pool.model

    def _require_steady(self, pool: Entry) -> None:
        if pool.model.get("allocationState", "steady") != "steady":
            raise errors.pool_being_resized()

    def _move_allocation(self, pool: Entry, to_state: str) -> None:
        nodes.require_allocation_transition(pool.model.get("allocationState", "steady"), to_state)
        ticks = self._core.clock.tick()
        pool.model["allocationState"] = to_state
        pool.model["allocationStateTransitionTime"] = iso(ticks)
        stamp(pool.model, ticks)

    def _begin_resize(self, pool: Entry, dedicated: int, low: int, option: str) -> None:
        pool.model.update(targetDedicatedNodes=dedicated, targetLowPriorityNodes=low)
        pool.model.pop("resizeErrors", None)
        pool.extra["deallocation"] = option
        pool.extra.pop("removing", None)
        self._move_allocation(pool, "resizing")
        pool.model = ordered(pool.model, POOL_ORDER)
        self._core.save_pool(pool)
        key = key_of(pool.model["id"])
        finish = functools.partial(self._finish_resize, key, option)
        self._core.call_later(("resize", key), self._core.resize_delay, finish)

    def _finish_resize(self, pool_key: str, option: str) -> None:
        pool = self._core.pools.get(pool_key)
        if pool is None or pool.state == "deleting" or pool.model.get("allocationState") != "resizing":
            return
        allocation = nodes.allocate(int(pool.model.get("targetDedicatedNodes") or 0),
                                    int(pool.model.get("targetLowPriorityNodes") or 0), self._core.max_nodes)
        staying = [record for record in self._nodes.records(pool) if record["condition"] != "leavingpool"]
        surplus: list[Record] = []
        for dedicated, wanted in ((True, allocation.dedicated), (False, allocation.low_priority)):
            kind = [record for record in staying if record["isDedicated"] == dedicated]
            if len(kind) < wanted:
                missing = wanted - len(kind)
                self._nodes.add_nodes(pool, missing if dedicated else 0, 0 if dedicated else missing)
            running = {record["id"]: len(self._nodes.running(record["id"])) for record in kind}
            surplus += nodes.removal_order(kind, running)[:max(0, len(kind) - wanted)]
        if allocation.errors:
            pool.model["resizeErrors"] = allocation.errors
        self._nodes.count_nodes(pool)
        self._remove(pool, surplus, option)

    def _remove(self, pool: Entry, records: list[Record], option: str) -> None:
        """Take nodes out: at once (requeue, terminate, or nothing running), else once their tasks end."""
        now: list[Record] = []
        later: list[Record] = []
        for record in records:
            busy = option in ("taskcompletion", "retaineddata") and self._nodes.running(record["id"])
            (later if busy else now).append(record)
        when = iso(self._core.clock.tick())
        for record in later:
            nodes.move_condition(record, "leavingpool", when)
            self._nodes.draining[key_of(record["id"])] = "remove"
        self._nodes.drop_nodes(pool, now)
        self._nodes.stop_node_tasks(pool, now, option)

    def _settle_allocation(self, pool: Entry) -> None:
        """Nodes left: a resize with none still leaving and no timer pending is over."""
        key = key_of(pool.model["id"])
        leaving = any(record["condition"] == "leavingpool" for record in self._nodes.records(pool))
        pending = ("resize", key) in self._core.timers
        if pool.model.get("allocationState") == "resizing" and not leaving and not pending:
            self._move_allocation(pool, "steady")
            self._core.save_pool(pool)

    def stop_resize(self, pool_id: str, conditions: Conditions = NO_CONDITIONS) -> Model:
        """POST /pools/{id}/stopresize: `stopping`, then `steady` with the nodes the pool has now."""
        pool = self._pool_to_change(pool_id, conditions)
        if pool.model.get("allocationState") != "resizing":
            return pool.model  # nothing to stop
        key = key_of(pool.model["id"])
        handle = self._core.timers.pop(("resize", key), None)
        if handle is not None:
            handle.cancel()
        self._move_allocation(pool, "stopping")
        self._core.save_pool(pool)
        finish = functools.partial(self._finish_stop, key)
        self._core.call_later(("stop", key), self._core.resize_delay, finish)
        return pool.model

    def _finish_stop(self, pool_key: str) -> None:
        pool = self._core.pools.get(pool_key)
        if pool is None or pool.model.get("allocationState") != "stopping":
            return
        self._move_allocation(pool, "steady")
        self._core.save_pool(pool)

    # --- remove nodes -------------------------------------------------------------------------------------

    def remove_nodes(self, pool_id: str, body: object, conditions: Conditions = NO_CONDITIONS) -> Model:
        """POST /pools/{id}/removenodes: the named nodes leave (their tasks handled per the option)."""
        pool = self._pool_to_change(pool_id, conditions)
        given = _body(body)
        names = given.get("nodeList")
        if not isinstance(names, list) or not names or not all(isinstance(name, str) for name in names):
            raise errors.missing_property("nodeList")
        if len(names) > MAX_NODES_PER_REMOVAL:
            raise errors.invalid_property("nodeList", f"At most {MAX_NODES_PER_REMOVAL} nodes per request.")
        _duration(given, "resizeTimeout", MIN_RESIZE_TIMEOUT)
        option = nodes.option_of(given, "nodeDeallocationOption", nodes.DEALLOCATION_OPTIONS)
        self._require_steady(pool)
        chosen = [self._nodes.node(pool_id, name)[1] for name in dict.fromkeys(names)]
        for record in chosen:
            nodes.check_node_rule("remove", self._nodes.state_of(record))
        dedicated = sum(1 for record in chosen if record["isDedicated"])
        pool.model["targetDedicatedNodes"] = max(0, int(pool.model.get("targetDedicatedNodes") or 0) - dedicated)
        pool.model["targetLowPriorityNodes"] = max(0, int(pool.model.get("targetLowPriorityNodes") or 0)
                                                   - (len(chosen) - dedicated))
        node_keys = tuple(key_of(record["id"]) for record in chosen)
        pool.extra.update(deallocation=option, removing=list(node_keys))  # finished after a restart too
        self._move_allocation(pool, "resizing")
        self._core.save_pool(pool)
        key = key_of(pool.model["id"])
        self._core.call_later(("resize", key), self._core.resize_delay,
                         functools.partial(self._finish_removal, key, node_keys, option))
        return pool.model

    def _finish_removal(self, pool_key: str, node_keys: tuple[str, ...], option: str) -> None:
        pool = self._core.pools.get(pool_key)
        if pool is None or pool.state == "deleting" or pool.model.get("allocationState") != "resizing":
            return
        chosen = [record for record in self._nodes.records(pool) if key_of(record["id"]) in node_keys]
        pool.extra.pop("removing", None)
        self._remove(pool, chosen, option)

    # --- autoscale ----------------------------------------------------------------------------------------

    def enable_autoscale(self, pool_id: str, body: object, conditions: Conditions = NO_CONDITIONS) -> Model:
        """POST /pools/{id}/enableautoscale: store the formula and interval, evaluate now and on the interval."""
        pool = self._pool_to_change(pool_id, conditions)
        given = _body(body)
        formula = given.get("autoScaleFormula", pool.model.get("autoScaleFormula"))
        if not isinstance(formula, str) or not formula.strip():
            raise errors.missing_property("autoScaleFormula")
        interval = _duration(given, "autoScaleEvaluationInterval", MIN_AUTOSCALE_INTERVAL, MAX_AUTOSCALE_INTERVAL)
        self._parse(formula)
        self._require_steady(pool)
        pool.model.update(enableAutoScale=True, autoScaleFormula=formula, autoScaleEvaluationInterval=interval
                          or pool.model.get("autoScaleEvaluationInterval") or DEFAULT_AUTOSCALE_INTERVAL)
        stamp(pool.model, self._core.clock.tick())
        self._autoscale_tick(key_of(pool.model["id"]))
        return pool.model

    def disable_autoscale(self, pool_id: str, conditions: Conditions = NO_CONDITIONS) -> Model:
        """POST /pools/{id}/disableautoscale: the pool keeps its nodes and stops evaluating."""
        pool = self._pool_to_change(pool_id, conditions)
        pool.model["enableAutoScale"] = False
        # The real service then reports neither formula nor interval (recorded GET after disableautoscale).
        pool.model.pop("autoScaleFormula", None)
        pool.model.pop("autoScaleEvaluationInterval", None)
        handle = self._core.timers.pop(("autoscale", key_of(pool.model["id"])), None)
        if handle is not None:
            handle.cancel()
        stamp(pool.model, self._core.clock.tick())
        self._core.save_pool(pool)
        return pool.model

    def evaluate_autoscale(self, pool_id: str, body: object) -> Model:
        """POST /pools/{id}/evaluateautoscale: the AutoScaleRun of a formula, without applying it."""
        pool = self._pool_to_change(pool_id, NO_CONDITIONS)
        formula = _body(body).get("autoScaleFormula")
        if not isinstance(formula, str) or not formula.strip():
            raise errors.missing_property("autoScaleFormula")
        if not pool.model.get("enableAutoScale"):
            raise errors.invalid_for_current_state("Autoscale must be enabled on the pool to evaluate a formula.")
        return self._run(pool, self._parse(formula))[0]

    @staticmethod
    def _parse(formula: str) -> autoscale.Formula:
        try:
            return autoscale.parse(formula)
        except autoscale.FormulaSyntaxError as exc:
            if len(formula) > autoscale.MAX_FORMULA_LENGTH:
                raise errors.autoscale_formula_too_long(autoscale.MAX_FORMULA_LENGTH) from None
            raise errors.autoscale_formula_syntax_error(exc.reason, exc.line, exc.column) from None

    def _measure(self, pool: Entry) -> dt.datetime:
        """Record a sample of the pool's metrics now; the time of it."""
        pool_id = key_of(pool.model["id"])
        tasks = [task.model for job in self._core.jobs.values() if job.state == "active"
                 and key_of(str(job.model["executionInfo"].get("poolId", ""))) == pool_id
                 for task in job.tasks.values()]
        records = self._nodes.records(pool)
        usable = sum(1 for record in records if self._nodes.state_of(record) in ("idle", "running"))
        values = {**autoscale_metrics.machine_values(self._core.node_root), **autoscale_metrics.task_values(tasks),
                  **autoscale_metrics.node_values(records, usable, int(pool.model.get("taskSlotsPerNode", 1)))}
        now = dt.datetime.now(dt.UTC)
        self.metrics.record(pool_id, now, values)
        return now

    def _run(self, pool: Entry, formula: autoscale.Formula) -> tuple[Model, dict[str, autoscale.Value]]:
        """The AutoScaleRun of the formula over the pool's history (a sample is taken first): its results, or
        its error and the values as far as evaluation came (section 7's AutoScaleRunError)."""
        now = self._measure(pool)
        run: Model = {"timestamp": iso(self._core.clock.tick())}
        targets = (int(pool.model.get("targetDedicatedNodes") or 0), int(pool.model.get("targetLowPriorityNodes") or 0))
        results: dict[str, autoscale.Value] = {}
        try:
            results = formula.evaluate(self.metrics.series(key_of(pool.model["id"]), now), now, targets)
            autoscale.node_targets(results)
        except autoscale.FormulaRuntimeError as exc:
            run["results"] = autoscale.results_text(exc.results or results)
            run["error"] = {"code": "AutoScalingFormulaEvaluationError", "message": str(exc),
                            "values": [{"name": "Line", "value": str(exc.line)},
                                       {"name": "Column", "value": str(exc.column)},
                                       {"name": "Reason", "value": exc.reason}]}
            return run, {}
        run["results"] = autoscale.results_text(results)
        return run, results

    def _evaluate_and_store(self, pool: Entry) -> dict[str, autoscale.Value]:
        try:
            formula = self._parse(str(pool.model.get("autoScaleFormula", "")))
        except errors.BatchServiceError as exc:
            pool.model["autoScaleRun"] = {"timestamp": iso(self._core.clock.tick()),
                                          "error": {"code": exc.code, "message": exc.message,
                                                    "values": [{"name": v["key"], "value": v["value"]}
                                                               for v in exc.values]}}
            return {}
        pool.model["autoScaleRun"], results = self._run(pool, formula)
        if results:  # stored as plain JSON: the settable values only, as node_targets reads them
            dedicated, low, option = autoscale.node_targets(results)
            results = {name: value for name, value in zip(autoscale.SETTABLE, (
                None if dedicated is None else float(dedicated), None if low is None else float(low), option),
                strict=True) if value is not None}
        pool.extra["autoscaleResults"] = results
        return results

    def _formula_targets(self, pool: Entry, fallback: tuple[int, int]) -> tuple[int, int]:
        results = pool.extra.get("autoscaleResults") or {}
        dedicated, low, _ = autoscale.node_targets(results) if results else (None, None, None)
        return (fallback[0] if dedicated is None else dedicated, fallback[1] if low is None else low)

    def _autoscale_tick(self, pool_key: str) -> None:
        pool = self._core.pools.get(pool_key)
        if pool is None or pool.state == "deleting" or not pool.model.get("enableAutoScale"):
            return
        results = self._evaluate_and_store(pool)
        if results and pool.model.get("allocationState") == "steady":
            current = (int(pool.model.get("targetDedicatedNodes") or 0),
                       int(pool.model.get("targetLowPriorityNodes") or 0))
            targets = self._formula_targets(pool, current)
            option = autoscale.node_targets(results)[2] or "requeue"
            if targets != current or len(self._nodes.records(pool)) != sum(targets):
                self._begin_resize(pool, targets[0], targets[1], option)
        pool.model = ordered(pool.model, POOL_ORDER)
        self._core.save_pool(pool)
        self._arm_autoscale(pool)

    def _arm_autoscale(self, pool: Entry) -> None:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop (a backend used directly): nothing evaluates on an interval
        interval = duration_seconds(pool.model.get("autoScaleEvaluationInterval") or DEFAULT_AUTOSCALE_INTERVAL)
        key = key_of(pool.model["id"])
        old = self._core.timers.pop(("autoscale", key), None)
        if old is not None:
            old.cancel()
        tick = functools.partial(self._autoscale_tick, key)
        self._core.call_later(("autoscale", key), interval or 900.0, tick)
        if ("metrics", "sampler") not in self._core.timers:
            self._core.call_later(("metrics", "sampler"), SAMPLE_SECONDS, self._sample_pools)

    def _sample_pools(self) -> None:
        """Every 30 seconds: a metric sample of each pool with autoscale enabled (while there is one)."""
        pools = [pool for pool in self._core.pools.values()
                 if pool.state != "deleting" and pool.model.get("enableAutoScale")]
        for pool in pools:
            self._measure(pool)
        if pools:
            self._core.call_later(("metrics", "sampler"), SAMPLE_SECONDS, self._sample_pools)
