"""Run one task attempt: as real processes on this machine (ProcessRunner) or doing no work (InstantRunner).

A runner knows nothing of jobs, pools or the store: the scheduler hands it a TaskLaunch and gets a TaskOutcome
back. Resource and output files are in runner/files.py. Batch facts cited from
../shared/reference/batch-api.md: section 3 (task fields) and 10 (what a task sees on a compute node).
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import datetime as dt
import functools
import os
import re
import shlex
import signal
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any, Literal, Protocol

import httpx

from batch_service.backend.stats import ResourceUsage
from batch_service.os_accounts import Credentials, OsAccounts
from batch_service.runner.files import (
    FailureKind,
    LaunchError,
    check_output_files,
    download_resource_file,
    failure_info,
)
from batch_service.runner.spawn import TaskProcess, prepare_task_process

SWITCH_INTERVAL = 0.0005  # seconds; see ProcessRunner.__init__
TaskKind = Literal["task", "jobmanager", "jobpreparation", "jobrelease", "subtask"]
AttemptResult = tuple[int | None, dict[str, Any] | None, FailureKind, ResourceUsage | None]

# Variables a task inherits from the service's own environment; anything else (the account key above all)
# stays out of the task's environment.
INHERITED_VARIABLES = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "USER", "LOGNAME")


@dataclass(frozen=True)
class NodeContext:
    """The virtual compute node a task runs on, as section 10.1 exposes it in AZ_BATCH_* variables."""

    root_dir: Path
    pool_id: str
    node_id: str
    account_name: str = "devbatchaccount"
    account_url: str = "http://127.0.0.1"
    is_dedicated: bool = True


@dataclass(frozen=True)
class MultiInstanceContext:
    """Where one instance of a multi-instance task sits among its peers (section 10.1, last rows)."""

    instance_count: int
    is_primary: bool


@dataclass(frozen=True)
class TaskLaunch:
    """Everything a runner needs to run one attempt of one task (or subtask, or JM/JP/JR task)."""

    job_id: str
    task_id: str
    kind: TaskKind
    command_line: str
    task_dir: Path
    node: NodeContext
    env: dict[str, str] = field(default_factory=dict)
    resource_files: list[dict[str, Any]] = field(default_factory=list)
    output_files: list[dict[str, Any]] = field(default_factory=list)
    container_settings: dict[str, Any] | None = None
    max_wall_clock_seconds: float | None = None
    user_identity: dict[str, Any] | None = None
    pool_user_admin: bool | None = None  # userIdentity names a pool user account: whether it is an admin
    job_prep_dir: Path | None = None
    multi_instance: MultiInstanceContext | None = None
    common_resource_files: list[dict[str, Any]] = field(default_factory=list)
    append_output: bool = False  # a multi-instance primary appends its command's output to its coordination's

    @functools.cached_property
    def working_dir(self) -> Path:
        """The task's current directory, `<task dir>/wd` (section 10.2)."""
        return self.task_dir / "wd"


@dataclass(frozen=True)
class TaskOutcome:
    """How one attempt ended; failure_info has the read-model shape of section 5.2."""

    exit_code: int | None
    failure_info: dict[str, Any] | None
    failure_kind: FailureKind
    start_time: dt.datetime
    end_time: dt.datetime
    usage: ResourceUsage | None = None  # process accounting, when the runner could take it (backend/stats.py)

    @property
    def succeeded(self) -> bool:
        """True when the attempt counts as `result: success`."""
        return self.failure_kind == "none"


class Runner(Protocol):
    """Runs one task attempt; the scheduler sets `cancel` to kill it (terminate, disable, job end)."""

    async def run(self, launch: TaskLaunch, cancel: asyncio.Event) -> TaskOutcome:
        """Run the attempt to its end, its wall clock, or the cancel event, whichever comes first."""
        ...

    def close(self) -> None:
        """Release what the runner holds (called once no attempt runs any more)."""
        ...


def utc_now() -> dt.datetime:
    """The current time, timezone-aware UTC."""
    return dt.datetime.now(dt.UTC)


def exit_failure_info(exit_code: int) -> dict[str, Any]:
    """The failureInfo the service reports for a nonzero exit code."""
    return failure_info("FailureExitCode", "The task exited with an exit code representing a failure",
                        Message=f"The task process exited with code {exit_code}")


def user_environment(common: list[dict[str, Any]] | None, task: list[dict[str, Any]] | None) -> dict[str, str]:
    """Job commonEnvironmentSettings, then the task's environmentSettings: the task wins (section 3.1)."""
    merged: dict[str, str] = {}
    for setting in [*(common or []), *(task or [])]:
        merged[str(setting["name"])] = str(setting.get("value") or "")
    return merged


def task_environment(launch: TaskLaunch) -> dict[str, str]:
    """The whole environment of the task process: a few inherited variables, user settings, AZ_BATCH_*."""
    env = dict(_inherited_environment())
    env.update(launch.env)
    # The node's own variables come last: the directories they name are fixed by the node (section 10.1).
    env.update(batch_variables(launch))
    return env


@functools.cache
def _inherited_environment() -> dict[str, str]:
    # Read once: the service's own environment does not change while it runs. Callers copy it.
    env = {name: os.environ[name] for name in INHERITED_VARIABLES if name in os.environ}
    env.setdefault("PATH", os.defpath)
    return env


def batch_variables(launch: TaskLaunch) -> dict[str, str]:
    """The AZ_BATCH_* variables of section 10.1 for this task on this node."""
    env = dict(_node_variables(launch.node))
    task_dir = os.fspath(launch.task_dir)
    env.update({
        "AZ_BATCH_JOB_ID": launch.job_id,
        "AZ_BATCH_TASK_ID": launch.task_id,
        "AZ_BATCH_TASK_DIR": task_dir,
        "AZ_BATCH_TASK_WORKING_DIR": f"{task_dir}/wd",
        "AZ_BATCH_CERTIFICATES_DIR": f"{task_dir}/wd/certs",
    })
    if launch.job_prep_dir is not None and launch.kind != "jobpreparation":
        env["AZ_BATCH_JOB_PREP_DIR"] = str(launch.job_prep_dir)
        env["AZ_BATCH_JOB_PREP_WORKING_DIR"] = str(launch.job_prep_dir / "wd")
    if launch.multi_instance is not None:
        env.update(_multi_instance_variables(launch, launch.multi_instance))
    return env


@functools.lru_cache(maxsize=256)
def _node_variables(node: NodeContext) -> dict[str, str]:
    # The same for every task on the node; built once per node (callers copy it).
    root = os.fspath(node.root_dir)
    return {
        "AZ_BATCH_ACCOUNT_NAME": node.account_name,
        "AZ_BATCH_ACCOUNT_URL": node.account_url,
        "AZ_BATCH_POOL_ID": node.pool_id,
        "AZ_BATCH_NODE_ID": node.node_id,
        "AZ_BATCH_NODE_IS_DEDICATED": "true" if node.is_dedicated else "false",
        "AZ_BATCH_NODE_ROOT_DIR": root,
        "AZ_BATCH_NODE_SHARED_DIR": f"{root}/shared",
        "AZ_BATCH_NODE_STARTUP_DIR": f"{root}/startup",
        "AZ_BATCH_NODE_MOUNTS_DIR": f"{root}/fsmounts",
    }


def _multi_instance_variables(launch: TaskLaunch, mi: MultiInstanceContext) -> dict[str, str]:
    # Every instance runs on this machine, so every "node" of the task has the loopback address.
    hosts = ["127.0.0.1"] * mi.instance_count
    return {
        "AZ_BATCH_HOST_LIST": ",".join(hosts),
        "AZ_BATCH_NODE_LIST": ";".join(hosts),
        "AZ_BATCH_MASTER_NODE": "127.0.0.1:6000",
        "AZ_BATCH_IS_CURRENT_NODE_MASTER": "true" if mi.is_primary else "false",
        "AZ_BATCH_TASK_SHARED_DIR": str(launch.task_dir),
        "CCP_NODES": " ".join([str(mi.instance_count), *(f"{host} 1" for host in hosts)]),
    }


def prepare_node_tree(root: Path) -> None:
    """Create the node-level directories of section 10.2."""
    if (root / "workitems").is_dir() and (root / "shared").is_dir():
        return
    for name in ("shared", "startup", "workitems", "fsmounts", "applications", "volatile"):
        (root / name).mkdir(parents=True, exist_ok=True)


def prepare_task_dir(launch: TaskLaunch) -> None:
    """Create the node tree and `<task dir>/wd` (two mkdir calls in the common case)."""
    try:
        os.mkdir(launch.task_dir)
    except FileExistsError:
        pass
    except FileNotFoundError:
        prepare_node_tree(launch.node.root_dir)
        os.makedirs(launch.task_dir, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        os.mkdir(launch.working_dir)


@contextlib.contextmanager
def open_outputs(launch: TaskLaunch) -> Iterator[tuple[IO[bytes], IO[bytes]]]:
    """The task's stdout.txt and stderr.txt, fresh for each attempt (or appended to, see append_output)."""
    prepare_task_dir(launch)
    mode = "ab" if launch.append_output else "wb"
    with open(launch.task_dir / "stdout.txt", mode) as out, open(launch.task_dir / "stderr.txt", mode) as err:
        yield out, err


class ProcessRunner:
    """Runs each task as a real local process in its node directory, without a shell."""

    def __init__(self, accounts: OsAccounts | None = None, download_timeout: float = 300.0,
                 start_threads: int = 4) -> None:
        self._accounts = accounts or OsAccounts.disabled()
        self._download_timeout = download_timeout
        self._container_runtime: bool | None = None
        self._container_lock = asyncio.Lock()
        # The event loop prepares each start (environment, file actions: Python work); these threads do what
        # blocks without the GIL: creating the task directory and posix_spawn, which waits until the child has
        # called exec. Those two are system calls whose time grows with disk and CPU contention, so they must
        # not hold up the loop. A thread that ends a start needs the GIL back, and the loop rarely idles when
        # tasks are short: a shorter switch interval than the default 5 ms keeps starts prompt.
        self._starter = concurrent.futures.ThreadPoolExecutor(start_threads, thread_name_prefix="task-start")
        sys.setswitchinterval(min(sys.getswitchinterval(), SWITCH_INTERVAL))

    def close(self) -> None:
        """Stop the start threads (every process was awaited by the attempt that started it)."""
        self._starter.shutdown(wait=True)

    async def run(self, launch: TaskLaunch, cancel: asyncio.Event) -> TaskOutcome:
        """Download resource files, run the command line, check output files; honour wall clock and cancel."""
        started = utc_now()
        attempt = asyncio.ensure_future(self._attempt(launch))
        cancelled = asyncio.ensure_future(cancel.wait())
        try:
            # The wall clock is measured from the start and covers resource downloads (sections 3.5, 5.2).
            done, _ = await asyncio.wait({attempt, cancelled}, timeout=launch.max_wall_clock_seconds,
                                         return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            await _stop(attempt)
            raise
        finally:
            cancelled.cancel()
        if attempt in done:
            exit_code, info, kind, usage = attempt.result()
            return TaskOutcome(exit_code, info, kind, started, utc_now(), usage)
        await _stop(attempt)
        if cancel.is_set():
            info = failure_info("TaskEnded", "Task Was Ended by User Request")
            return TaskOutcome(None, info, "cancelled", started, utc_now())
        info = failure_info("MaxWallClockTimeExpiry", "The task ran longer than its maximum wall clock time",
                            MaxWallClockTime=f"{launch.max_wall_clock_seconds}s")
        return TaskOutcome(None, info, "timeout", started, utc_now())

    async def _attempt(self, launch: TaskLaunch) -> AttemptResult:
        try:
            argv = await self._command(launch)
            if launch.resource_files or launch.common_resource_files:
                prepare_task_dir(launch)
                await self._download_all(launch)
            exit_code, usage = await self._spawn_and_wait(launch, argv)
            upload_error = check_output_files(launch.output_files, launch.task_dir, exit_code)
        except LaunchError as error:
            # The task directory and its output files exist even when the command never started.
            with open_outputs(launch):
                pass
            return None, error.failure_info, error.kind, None
        if upload_error is not None:
            return exit_code, upload_error.failure_info, "fileupload", usage
        if exit_code != 0:
            return exit_code, exit_failure_info(exit_code), "exit", usage
        return 0, None, "none", usage

    async def _command(self, launch: TaskLaunch) -> list[str]:
        argv = split_command_line(launch.command_line)
        settings = launch.container_settings
        if settings is None:
            return argv
        if not await self.container_runtime_available():
            raise LaunchError("preprocessing", "ContainerRuntimeUnavailable",
                              "The task has containerSettings but no working container runtime was found on "
                              "this machine (`docker info` failed); it is not run on the host instead",
                              ImageName=str(settings.get("imageName", "")))
        return container_argv(launch, argv, task_environment(launch))

    async def container_runtime_available(self) -> bool:
        """Whether `docker info` succeeds here; asked once, then remembered."""
        async with self._container_lock:
            if self._container_runtime is None:
                self._container_runtime = await _docker_info_succeeds()
            return self._container_runtime

    async def _download_all(self, launch: TaskLaunch) -> None:
        if not launch.resource_files and not launch.common_resource_files:
            return
        async with httpx.AsyncClient(timeout=self._download_timeout, follow_redirects=True) as client:
            # Multi-instance commonResourceFiles go to the task root, one level above wd (section 3.9).
            for spec in launch.common_resource_files:
                await download_resource_file(client, spec, launch.task_dir)
            for spec in launch.resource_files:
                await download_resource_file(client, spec, launch.working_dir)

    async def _spawn_and_wait(self, launch: TaskLaunch, argv: list[str]) -> tuple[int, ResourceUsage | None]:
        try:
            credentials = None
            if self._accounts.enabled and (launch.user_identity or {}).get("username"):
                credentials = await asyncio.get_running_loop().run_in_executor(
                    self._starter, _task_account, self._accounts, launch)
            spawn = prepare_task_process(argv, launch.working_dir, task_environment(launch),
                                         launch.task_dir / "stdout.txt", launch.task_dir / "stderr.txt",
                                         append=launch.append_output, credentials=credentials)
            starting = asyncio.get_running_loop().run_in_executor(self._starter, _start, launch, spawn)
            try:
                # Shielded: a process that starts while this attempt is being cancelled must still be killed.
                process = await asyncio.shield(starting)
            except asyncio.CancelledError:
                with contextlib.suppress(OSError):
                    started = await starting
                    _kill_group(started.pid)
                    await process_exit(started)
                raise
        except (FileNotFoundError, NotADirectoryError) as error:
            raise LaunchError("preprocessing", "CommandProgramNotFound",
                              f"The program '{argv[0]}' of the command line was not found",
                              Program=argv[0]) from error
        except PermissionError as error:
            raise LaunchError("preprocessing", "CommandProgramNotExecutable",
                              f"The program '{argv[0]}' of the command line is not executable",
                              Program=argv[0]) from error
        try:
            code = await process_exit(process)
        except asyncio.CancelledError:
            # Terminate, disable, job end or wall clock: the whole process group goes, children included.
            # Killing and reaping both happen on the loop, so the pid cannot have been reused in between.
            _kill_group(process.pid)
            await process_exit(process)
            raise
        usage = getattr(process, "rusage", None)  # a process killed by a signal reports 128 + signal, like a shell
        return (code if code >= 0 else 128 - code), ResourceUsage.from_rusage(usage) if usage else None


def _task_account(accounts: OsAccounts, launch: TaskLaunch) -> Credentials | None:
    """On a start thread: the account a task of a named user runs as, owning its task directory."""
    name, node = str((launch.user_identity or {})["username"]), launch.node
    prepare_task_dir(launch)
    try:
        return accounts.for_task(node.pool_id, node.node_id, name, launch.pool_user_admin,
                                 (launch.task_dir, launch.working_dir))
    except OSError as error:
        raise LaunchError("preprocessing", "UserAccountNotCreated",
                          f"The account of user '{name}' could not be created on the node", UserName=name) from error


def _start(launch: TaskLaunch, spawn: Callable[[], TaskProcess]) -> TaskProcess:
    """On a start thread: create the task directory, then start the prepared process."""
    prepare_task_dir(launch)
    return spawn()


async def process_exit(process: TaskProcess) -> int:
    """Wait for a process without blocking the loop: a pidfd becomes readable when it ends (Linux)."""
    try:
        pidfd = os.pidfd_open(process.pid)
    except (AttributeError, OSError):
        return await asyncio.to_thread(process.wait)
    loop = asyncio.get_running_loop()
    ended: asyncio.Future[None] = loop.create_future()
    loop.add_reader(pidfd, lambda: None if ended.done() else ended.set_result(None))
    try:
        await ended
    finally:
        loop.remove_reader(pidfd)
        os.close(pidfd)
    return process.wait()


def split_command_line(command_line: str) -> list[str]:
    """Split a command line the way a POSIX shell would, without running one (section 3.4)."""
    if _SHLEX_SPECIAL.search(command_line) is None:
        # No quote or backslash: shlex would only split on its whitespace, and it is slow pure Python.
        argv = [word for word in _SHLEX_WHITESPACE.split(command_line) if word]
        if argv:
            return argv
    try:
        argv = shlex.split(command_line)
    except ValueError as error:
        raise LaunchError("preprocessing", "CommandLineInvalid",
                          f"The command line could not be split into arguments: {error}") from error
    if not argv:
        raise LaunchError("preprocessing", "CommandLineInvalid", "The command line is empty")
    return argv


def container_argv(launch: TaskLaunch, argv: list[str], env: dict[str, str]) -> list[str]:
    """`docker run` for a containerSettings task: the node root mounted at the same path, wd as cwd.

    Variables are passed by name only (`-e NAME`): docker reads their values from its own environment, which
    is the task's, so no value (a secret, perhaps) appears on a command line.
    """
    settings = launch.container_settings or {}
    root = str(launch.node.root_dir)
    command = ["docker", "run", "--rm", "--init", "-v", f"{root}:{root}"]
    if settings.get("workingDirectory", "taskWorkingDirectory") != "containerImageDefault":
        command += ["-w", str(launch.working_dir)]
    for name in env:
        if name != "PATH":
            command += ["-e", name]
    command += shlex.split(str(settings.get("containerRunOptions") or ""))
    return [*command, str(settings["imageName"]), *argv]


async def _docker_info_succeeds() -> bool:
    try:
        probe = await asyncio.create_subprocess_exec(
            "docker", "info", stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
    except OSError:
        return False
    try:
        return await asyncio.wait_for(probe.wait(), timeout=15) == 0
    except TimeoutError:
        _kill_group(probe.pid, group=False)
        await probe.wait()
        return False


def _kill_group(pid: int, group: bool = True) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if group:
            os.killpg(pid, signal.SIGKILL)
        else:
            os.kill(pid, signal.SIGKILL)


async def _stop(attempt: asyncio.Future[Any]) -> None:
    attempt.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await attempt


_SHLEX_SPECIAL = re.compile(r"['\"\\]")
_SHLEX_WHITESPACE = re.compile(r"[ \t\r\n]+")
_EXIT_RULE = re.compile(r"(?:^|[;&|\s])exit\s+(\d+)\s*;?\s*$")
_SLEEP_RULE = re.compile(r"(?:^|[;&|\s/])sleep\s+(\d+(?:\.\d+)?)")


class InstantRunner:
    """Does no real work: the exit code comes from a trailing `exit N` (else 0), `sleep S` waits S seconds."""

    def close(self) -> None:
        """Nothing to release."""

    async def run(self, launch: TaskLaunch, cancel: asyncio.Event) -> TaskOutcome:
        """Finish at once (or after the simulated sleep) with the exit code the command line announces."""
        started = utc_now()
        with open_outputs(launch):
            pass
        delay = instant_sleep_seconds(launch.command_line)
        limit = launch.max_wall_clock_seconds
        if delay > 0 or cancel.is_set():
            wait = delay if limit is None else min(delay, limit)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(cancel.wait(), timeout=wait)
            if cancel.is_set():
                return TaskOutcome(None, failure_info("TaskEnded", "Task Was Ended by User Request"),
                                   "cancelled", started, utc_now())
            if limit is not None and delay > limit:
                info = failure_info("MaxWallClockTimeExpiry", "The task ran longer than its maximum wall clock time")
                return TaskOutcome(None, info, "timeout", started, utc_now())
        code = instant_exit_code(launch.command_line)
        if code:
            return TaskOutcome(code, exit_failure_info(code), "exit", started, utc_now())
        return TaskOutcome(0, None, "none", started, utc_now())


def instant_exit_code(command_line: str) -> int:
    """The N of a command line ending in `exit N` (quotes ignored), else 0."""
    match = _EXIT_RULE.search(command_line.replace("'", " ").replace('"', " ").rstrip())
    return int(match.group(1)) % 256 if match else 0


def instant_sleep_seconds(command_line: str) -> float:
    """The S of the first `sleep S` in a command line, else 0."""
    match = _SLEEP_RULE.search(command_line.replace("'", " ").replace('"', " "))
    return float(match.group(1)) if match else 0.0


def with_appended_output(launch: TaskLaunch, command_line: str) -> TaskLaunch:
    """The same launch running another command line whose output follows the first one's."""
    return replace(launch, command_line=command_line, append_output=True, resource_files=[],
                   common_resource_files=[])
