"""Job schedules (sections 2.2, 3.11, 4.3, 6.8): a JobScheduleService that keeps schedules in their own
SQLite file (<data-dir>/schedules.db), creates their jobs through Backend.create_job on an asyncio timer. Nothing here changes how the backend stores
jobs; the HTTP handlers of /jobschedules are in batch_service.api.schedule_routes.

Job ids are `<scheduleId>-job-<n>`: Azure uses `<scheduleId>:job-<n>`, but ':' is not a valid job id in
this service (section 3.1 id rules).
"""
from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import logging
import sqlite3
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import isodate

from batch_api.defaults import with_defaults
from batch_api.jobs import JOB_SCHEDULE_CONFIGURATION, JOB_SPECIFICATION
from batch_service.backend import errors
from batch_service.backend.account import Backend
from batch_service.backend.conditions import Conditions
from batch_service.backend.ids import Clock, etag, iso, ticks_from_iso
from batch_service.backend.models import JOB_ENUMS, canonical_enums
from batch_service.durations import parse_duration
from batch_service.validation.bodies import validate_job_schedule_create

log = logging.getLogger("batch_service.schedules")

TICK_SECONDS = 0.2  # how often the timer looks for due schedules
_UPDATABLE = ("schedule", "jobSpecification", "metadata")
_ORDER = ("id", "displayName", "url", "eTag", "lastModified", "creationTime", "state", "stateTransitionTime",
          "previousState", "previousStateTransitionTime", "schedule", "jobSpecification", "executionInfo",
          "metadata")
_SCHEMA = """CREATE TABLE IF NOT EXISTS schedules (key TEXT PRIMARY KEY, seq INTEGER NOT NULL,
                                                   model TEXT NOT NULL, extra TEXT NOT NULL);"""


# --- errors (section 7.2) -------------------------------------------------------------------------------------

def schedule_not_found() -> errors.BatchServiceError:
    """No job schedule with that id."""
    return errors.BatchServiceError(404, "JobScheduleNotFound", "The specified job schedule does not exist.")


def schedule_exists() -> errors.BatchServiceError:
    """A schedule with this id (case-insensitively) exists."""
    return errors.BatchServiceError(409, "JobScheduleExists", "The specified job schedule already exists.")


def job_with_same_id_exists() -> errors.BatchServiceError:
    """A job already holds the id a new schedule asks for (section 2.5)."""
    return errors.BatchServiceError(409, "JobWithSameIdExists", "A job with the specified id already exists.")


def schedule_with_same_id_exists() -> errors.BatchServiceError:
    """A schedule already holds the id a new job asks for (section 2.5)."""
    return errors.BatchServiceError(409, "JobScheduleWithSameIdExists",
                                    "A job schedule with the specified id already exists.")


def _state_conflict(state: str) -> errors.BatchServiceError:
    if state == "deleting":
        return errors.BatchServiceError(409, "JobScheduleBeingDeleted",
                                        "The specified job schedule has been marked for deletion.")
    if state == "completed":
        return errors.BatchServiceError(409, "JobScheduleCompleted",
                                        "The specified job schedule is already in a completed state.")
    return errors.invalid_for_current_state(f"The job schedule is {state}.")


# --- persistence ------------------------------------------------------------------------------------------

@dataclass
class Schedule:
    """One schedule: creation sequence, read model (url as a path) and internal data (job counter, job ids)."""

    seq: int
    model: dict[str, Any]
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def state(self) -> str:
        """The schedule's state (section 6.8)."""
        return str(self.model["state"])


class ScheduleStore:
    """Write-through persistence of schedules in their own SQLite file."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(_SCHEMA)

    def load(self) -> list[tuple[str, Schedule]]:
        """Every stored schedule, in creation order."""
        rows = self._db.execute("SELECT key, seq, model, extra FROM schedules ORDER BY seq").fetchall()
        return [(key, Schedule(seq, json.loads(model), json.loads(extra))) for key, seq, model, extra in rows]

    def put(self, key: str, schedule: Schedule) -> None:
        """Insert or replace one schedule."""
        self._db.execute("INSERT OR REPLACE INTO schedules VALUES (?, ?, ?, ?)",
                         (key, schedule.seq, json.dumps(schedule.model), json.dumps(schedule.extra)))

    def delete(self, key: str) -> None:
        """Remove one schedule."""
        self._db.execute("DELETE FROM schedules WHERE key = ?", (key,))

    def close(self) -> None:
        """Fold the WAL into the file and close."""
        self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self._db.close()


def _seconds(duration: object) -> float | None:
    return float(parse_duration(duration).total_seconds()) if isinstance(duration, str) else None


def _unix(timestamp: object) -> float | None:
    return float(isodate.parse_datetime(timestamp).timestamp()) if isinstance(timestamp, str) else None


def _iso_unix(seconds: float) -> str:
    return iso(int(seconds * 10_000_000) + 621_355_968_000_000_000)


# --- the service ------------------------------------------------------------------------------------------

class JobScheduleService:
    """All job schedules of the account and the timer that creates their jobs."""

    def __init__(self, jobs: Backend, data_dir: Path) -> None:
        self._backend = jobs
        self._store = ScheduleStore(data_dir / "schedules.db")
        self._clock = Clock()
        self._schedules: dict[str, Schedule] = {}
        self._seq = 0
        self._task: asyncio.Task[None] | None = None
        for key, schedule in self._store.load():
            self._schedules[key] = schedule
            self._seq = max(self._seq, schedule.seq)
            self._clock.observe(ticks_from_iso(schedule.model["lastModified"]))

    async def start(self, _app: object = None) -> None:
        """Start the timer in the running loop."""
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self, _app: object = None) -> None:
        """Stop the timer and close the store."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._store.close()

    def has(self, schedule_id: str) -> bool:
        """Whether a schedule holds this id (jobs and schedules share one id space, section 3.11)."""
        return schedule_id.lower() in self._schedules

    # --- create and read --------------------------------------------------------------------------------

    def create(self, body: object) -> dict[str, Any]:
        """POST /jobschedules: active, first run at doNotRunUntil (or now)."""
        validate_job_schedule_create(body)
        assert isinstance(body, dict)
        key = body["id"].lower()
        if key in self._schedules:
            raise schedule_exists()
        if self._job_state(body["id"]) is not None:
            raise job_with_same_id_exists()
        ticks = self._clock.tick()
        model: dict[str, Any] = {"id": body["id"], "displayName": body.get("displayName"),
                                 "url": f"/jobschedules/{body['id']}", "eTag": etag(ticks),
                                 "lastModified": iso(ticks), "creationTime": iso(ticks), "state": "active",
                                 "stateTransitionTime": iso(ticks), "executionInfo": {}}
        self._apply(model, body, replace=True)
        first = _unix(model["schedule"].get("doNotRunUntil")) or time.time()
        model["executionInfo"] = {"nextRunTime": _iso_unix(first)}
        self._seq += 1
        schedule = Schedule(self._seq, _ordered(model), {"next": first, "count": 0, "jobs": []})
        self._schedules[key] = schedule
        self._save(schedule)
        return schedule.model

    def for_read(self, schedule_id: str, wanted: Conditions, *, read: bool = True) -> Schedule:
        """The schedule, after its conditional headers (section 1.4)."""
        schedule = self._schedules.get(schedule_id.lower())
        if schedule is None:
            raise schedule_not_found()
        wanted.check(schedule.model, read=read)
        return schedule

    def items(self) -> Iterator[tuple[int, dict[str, Any]]]:
        """(sequence, model) of every schedule, for list paging."""
        return ((s.seq, s.model) for s in list(self._schedules.values()))

    def job_items(self, schedule_id: str) -> list[tuple[int, dict[str, Any]]]:
        """(sequence, model) of the schedule's jobs that still exist."""
        owned = {job_id.lower() for job_id in self.for_read(schedule_id, Conditions.from_headers({})).extra["jobs"]}
        return [(seq, model) for seq, model in self._backend.job_items() if model["id"].lower() in owned]

    # --- updates (section 4.3) --------------------------------------------------------------------------

    def update(self, schedule_id: str, body: object, wanted: Conditions, *, replace: bool) -> dict[str, Any]:
        """PATCH (absent elements unchanged) or PUT (all three replaced); future jobs only."""
        schedule = self.for_read(schedule_id, wanted, read=False)
        if schedule.state in ("completed", "deleting", "terminating"):
            raise _state_conflict(schedule.state)
        if not isinstance(body, dict):
            raise errors.invalid_request_body("The body must be a JSON object.")
        unknown = sorted(set(body) - set(_UPDATABLE))
        if unknown:
            raise errors.invalid_property(unknown[0], "Only schedule, jobSpecification and metadata can change.")
        if replace:
            for name in ("schedule", "jobSpecification"):
                if body.get(name) is None:
                    raise errors.missing_property(name)
        model = schedule.model
        current = {name: model.get(name) for name in ("id", *_UPDATABLE) if model.get(name) is not None}
        merged = {"id": model["id"], **body} if replace else {**current, **body}
        validate_job_schedule_create({k: v for k, v in merged.items() if v is not None})
        self._apply(model, body, replace=replace)
        if "schedule" in body or replace:
            schedule.extra["next"] = self._next_after_change(schedule)
            model["executionInfo"]["nextRunTime"] = _iso_unix(schedule.extra["next"]) \
                if schedule.extra["next"] is not None else None
        self._touch(schedule)
        return schedule.model

    def _next_after_change(self, schedule: Schedule) -> float | None:
        config = schedule.model["schedule"]
        start = _unix(config.get("doNotRunUntil"))
        if schedule.extra["count"] == 0:
            return start or time.time()
        interval = _seconds(config.get("recurrenceInterval"))
        if interval is None:
            return None
        return max(start or 0.0, time.time() + interval) if schedule.extra.get("next") is None \
            else max(start or 0.0, float(schedule.extra["next"]))

    @staticmethod
    def _apply(model: dict[str, Any], body: Mapping[str, Any], *, replace: bool) -> None:
        for name in _UPDATABLE:
            if name in body or replace:
                value = copy.deepcopy(body.get(name))
                if name == "jobSpecification" and isinstance(value, dict):
                    # Reported with the job's defaults filled in, as the real service does (5.3).
                    value = canonical_enums(with_defaults(JOB_SPECIFICATION, value), JOB_ENUMS)
                elif name == "schedule" and isinstance(value, dict):
                    value = with_defaults(JOB_SCHEDULE_CONFIGURATION, value)  # durations in normal form
                if value is None or value == []:
                    model.pop(name, None)  # metadata left out, not empty, when there is none (as reported)
                else:
                    model[name] = value

    # --- state verbs (section 6.8) ----------------------------------------------------------------------

    def set_enabled(self, schedule_id: str, enabled: bool, wanted: Conditions) -> None:
        """POST disable/enable: a disabled schedule creates no jobs; its current job continues."""
        schedule = self.for_read(schedule_id, wanted, read=False)
        allowed = ("disabled", "active") if enabled else ("active", "disabled")
        if schedule.state not in allowed:
            raise _state_conflict(schedule.state)
        self._move(schedule, "active" if enabled else "disabled")

    def terminate(self, schedule_id: str, wanted: Conditions) -> None:
        """POST terminate: `terminating`, its active job is terminated, then `completed`."""
        schedule = self.for_read(schedule_id, wanted, read=False)
        if schedule.state in ("completed", "deleting", "terminating"):
            raise _state_conflict(schedule.state)
        self._move(schedule, "terminating")
        self._end_recent_job(schedule)

    def delete(self, schedule_id: str, wanted: Conditions) -> None:
        """DELETE: `deleting`, its jobs are deleted, then the schedule is gone."""
        schedule = self.for_read(schedule_id, wanted, read=False)
        if schedule.state == "deleting":
            raise _state_conflict("deleting")
        self._move(schedule, "deleting")
        for job_id in schedule.extra["jobs"]:
            with contextlib.suppress(errors.BatchServiceError):
                self._backend.delete_job(job_id)

    def _end_recent_job(self, schedule: Schedule) -> None:
        recent = schedule.extra["jobs"][-1] if schedule.extra["jobs"] else None
        if recent is not None and self._job_state(recent) not in (None, "completed", "terminating", "deleting"):
            with contextlib.suppress(errors.BatchServiceError):
                self._backend.terminate_job(recent, "TerminateJobSchedule")

    # --- the timer --------------------------------------------------------------------------------------

    async def _run(self) -> None:
        while True:
            for key in list(self._schedules):
                try:
                    self._step(key)
                except Exception:  # one bad schedule must not stop the others
                    log.exception("job schedule %s: timer step failed", key)
            await asyncio.sleep(TICK_SECONDS)

    def _step(self, key: str) -> None:
        schedule = self._schedules[key]
        recent_state = self._job_state(schedule.extra["jobs"][-1]) if schedule.extra["jobs"] else None
        recent_done = recent_state in (None, "completed")
        if schedule.state == "deleting":
            if all(self._job_state(job_id) is None for job_id in schedule.extra["jobs"]):
                del self._schedules[key]
                self._store.delete(key)
        elif schedule.state == "terminating" and recent_done:
            self._complete(schedule)
        elif schedule.state == "active":
            self._maybe_run(schedule, recent_done)

    def _maybe_run(self, schedule: Schedule, recent_done: bool) -> None:
        config = schedule.model["schedule"]
        now = time.time()
        due = schedule.extra.get("next")
        stop_after = _unix(config.get("doNotRunAfter"))
        if due is None or (stop_after is not None and now > stop_after):
            if recent_done:
                self._complete(schedule)
            return
        if now < due:
            return
        window = _seconds(config.get("startWindow"))
        if not recent_done and (window is None or now <= due + window):
            return  # at most one active job per schedule (section 3.11): wait for the previous one
        if recent_done:
            self._create_job(schedule)
        interval = _seconds(config.get("recurrenceInterval"))
        following = None if interval is None else due + interval * max(1, int((now - due) // interval) + 1)
        schedule.extra["next"] = following
        schedule.model["executionInfo"]["nextRunTime"] = _iso_unix(following) if following is not None else None
        self._touch(schedule)

    def _create_job(self, schedule: Schedule) -> None:
        schedule.extra["count"] += 1
        job_id = f"{schedule.model['id']}-job-{schedule.extra['count']}"
        body = {**copy.deepcopy(schedule.model["jobSpecification"]), "id": job_id}
        auto = body.get("poolInfo", {}).get("autoPoolSpecification")
        if isinstance(auto, dict) and auto.get("poolLifetimeOption") == "jobschedule":
            auto["poolLifetimeOption"] = "job"  # the local service keeps no pool across a schedule's jobs
        try:
            self._backend.create_job(body)
        except errors.BatchServiceError as exc:
            log.warning("job schedule %s: creating job %s failed: %s", schedule.model["id"], job_id, exc.code)
            return
        schedule.extra["jobs"].append(job_id)
        schedule.model["executionInfo"]["recentJob"] = {"id": job_id, "url": f"/jobs/{job_id}"}

    def _complete(self, schedule: Schedule) -> None:
        schedule.model["executionInfo"]["nextRunTime"] = None
        schedule.model["executionInfo"]["endTime"] = iso(self._clock.tick())
        self._move(schedule, "completed")

    # --- helpers ----------------------------------------------------------------------------------------

    def _job_state(self, job_id: str) -> str | None:
        try:
            return str(self._backend.job_for_read(job_id)["state"])
        except errors.BatchServiceError:
            return None

    def _move(self, schedule: Schedule, to_state: str) -> None:
        ticks = self._clock.tick()
        model = schedule.model
        model["previousState"], model["previousStateTransitionTime"] = model["state"], model["stateTransitionTime"]
        model["state"], model["stateTransitionTime"] = to_state, iso(ticks)
        self._touch(schedule)

    def _touch(self, schedule: Schedule) -> None:
        ticks = self._clock.tick()
        schedule.model["eTag"], schedule.model["lastModified"] = etag(ticks), iso(ticks)
        schedule.model = _ordered(schedule.model)
        self._save(schedule)

    def _save(self, schedule: Schedule) -> None:
        self._store.put(schedule.model["id"].lower(), schedule)


def _ordered(model: dict[str, Any]) -> dict[str, Any]:
    present = {k: model[k] for k in _ORDER if model.get(k) is not None}
    info = present.get("executionInfo")
    if isinstance(info, dict):
        present["executionInfo"] = {k: v for k, v in info.items() if v is not None}
    return present
