"""Start a task process with glibc's posix_spawn(3), falling back to subprocess.Popen elsewhere.

Why not Popen everywhere: for a task that runs a few milliseconds, Popen's own Python work (pipes to detect a
failed exec, fd bookkeeping, opening the output files in the parent) costs about three times the CPU of a
posix_spawn whose child opens its own output files and changes into its own working directory, and that CPU
is the service's, taken from scheduling and HTTP. os.posix_spawn cannot change the child's directory before
Python 3.13, so the libc functions are called through ctypes; posix_spawn_file_actions_addchdir_np exists in
glibc since 2.29. posix_spawn returns once the child has called exec (glibc uses CLONE_VFORK), so an exec
failure comes back as an error number rather than as a child that exits 127.

A start comes in two halves (prepare_task_process): the Python work, done where the caller likes (the event
loop), and the posix_spawn call alone, which releases the GIL and can run on a thread without that thread
having to win the GIL back more than once.
"""
from __future__ import annotations

import ctypes
import functools
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from batch_service.os_accounts import Credentials

_POSIX_SPAWN_SETSIGMASK = 0x08  # glibc's <spawn.h> values (Linux)
_POSIX_SPAWN_SETSIGDEF = 0x04
_POSIX_SPAWN_SETSID = 0x80
# Larger than glibc's posix_spawn_file_actions_t (80 bytes), posix_spawnattr_t (336) and sigset_t (128) on
# every architecture it supports; init writes only what the real type holds.
_OPAQUE_BYTES = 1024
# No O_CLOEXEC: were the file opened straight onto fd 1 or 2 (free in the parent), exec would close it.
_OUTPUT_FLAGS = os.O_WRONLY | os.O_CREAT
_OUTPUT_MODE = 0o644
# Signals Python ignores in itself; a task starts with their default actions, as under Popen's
# restore_signals (SIGXFZ does not exist on Linux).
_RESTORED_SIGNALS = (signal.SIGPIPE, signal.SIGXFSZ)


class TaskProcess(Protocol):
    """A started task process: its pid, and a blocking wait that returns Popen's returncode convention."""

    pid: int

    def wait(self) -> int:
        """Reap the process: its exit code, or minus the signal that killed it."""
        ...


class SpawnedProcess:
    """A child started by posix_spawn; reaped with waitpid."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self._returncode: int | None = None
        self.rusage: Any = None  # resource.struct_rusage once reaped: the task's CPU time and block IO

    def wait(self) -> int:
        """Reap the process (once, with its resource usage): its exit code, or minus the signal that killed it."""
        if self._returncode is None:
            _, status, self.rusage = os.wait4(self.pid, 0)
            self._returncode = os.waitstatus_to_exitcode(status)
        return self._returncode


def _load_libc() -> tuple[Any, Any] | None:
    """(libc called without the GIL, libc called with it), or None where posix_spawn cannot chdir."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        releasing, holding = ctypes.CDLL(None, use_errno=True), ctypes.PyDLL(None, use_errno=True)
        holding.posix_spawn_file_actions_addchdir_np  # noqa: B018  (glibc >= 2.29; AttributeError otherwise)
    except (OSError, AttributeError):
        return None
    return releasing, holding


_LIBC = _load_libc()


def _shared_attributes() -> ctypes.Array[ctypes.c_char] | None:
    """The spawn attributes every task shares: a new session, no blocked signals, Python's ignored ones reset.
    posix_spawn only reads them, so one copy serves every thread."""
    if _LIBC is None:
        return None
    attributes = ctypes.create_string_buffer(_OPAQUE_BYTES)
    empty = ctypes.create_string_buffer(_OPAQUE_BYTES)
    restored = ctypes.create_string_buffer(_OPAQUE_BYTES)
    _call("posix_spawnattr_init", attributes)
    _call("sigemptyset", empty)
    _call("sigemptyset", restored)
    for number in _RESTORED_SIGNALS:
        _call("sigaddset", restored, int(number))
    # The spawning thread's signal mask would otherwise be inherited; the task starts with none blocked.
    _call("posix_spawnattr_setsigmask", attributes, empty)
    _call("posix_spawnattr_setsigdefault", attributes, restored)
    _call("posix_spawnattr_setflags", attributes,
          ctypes.c_short(_POSIX_SPAWN_SETSID | _POSIX_SPAWN_SETSIGMASK | _POSIX_SPAWN_SETSIGDEF))
    return attributes


def start_task_process(argv: Sequence[str], cwd: Path, env: Mapping[str, str], stdout: Path, stderr: Path,
                       append: bool = False) -> TaskProcess:
    """Start `argv` in `cwd` with exactly `env`, stdin from /dev/null, output to the two files, in a new session.

    A program without a slash is looked up on the task's own PATH (as Popen does with env=); one with a slash
    is relative to `cwd`. Raises FileNotFoundError / PermissionError / NotADirectoryError when it cannot start.
    """
    return prepare_task_process(argv, cwd, env, stdout, stderr, append)()


def prepare_task_process(argv: Sequence[str], cwd: Path, env: Mapping[str, str], stdout: Path, stderr: Path,
                         append: bool = False, credentials: Credentials | None = None) -> Callable[[], TaskProcess]:
    """start_task_process in two halves: this one does the Python work (may raise FileNotFoundError for a
    program not on the task's PATH) and returns the other, which only calls posix_spawn, without the GIL.
    The returned call must be made exactly once (it frees what this one set up). With `credentials` the task
    runs as that uid/gid: posix_spawn cannot change them, so Popen (which can) starts it."""
    if _LIBC is None or credentials is not None:
        return functools.partial(_popen, argv, cwd, env, stdout, stderr, append, credentials)
    program = argv[0]
    if "/" not in program:
        found = shutil.which(program, path=env.get("PATH", os.defpath))
        if found is None:
            raise FileNotFoundError(2, f"No such file or directory: {program!r}", program)
        program = found
    output_flags = _OUTPUT_FLAGS | (os.O_APPEND if append else os.O_TRUNC)
    actions = ctypes.create_string_buffer(_OPAQUE_BYTES)
    _call("posix_spawn_file_actions_init", actions)
    try:
        _call("posix_spawn_file_actions_addopen", actions, 0, b"/dev/null", os.O_RDONLY, 0)
        _call("posix_spawn_file_actions_addopen", actions, 1, os.fsencode(stdout), output_flags, _OUTPUT_MODE)
        _call("posix_spawn_file_actions_addopen", actions, 2, os.fsencode(stderr), output_flags, _OUTPUT_MODE)
        _call("posix_spawn_file_actions_addchdir_np", actions, os.fsencode(cwd))
    except BaseException:
        _LIBC[1].posix_spawn_file_actions_destroy(actions)
        raise
    return functools.partial(_spawn, os.fsencode(program), actions, _strings(argv),
                             _strings(f"{name}={value}" for name, value in env.items()))


def _spawn(program: bytes, actions: ctypes.Array[ctypes.c_char], argv: ctypes.Array[ctypes.c_char_p],
           envp: ctypes.Array[ctypes.c_char_p]) -> TaskProcess:
    assert _LIBC is not None
    pid = ctypes.c_int()
    try:
        error = _LIBC[0].posix_spawn(ctypes.byref(pid), program, actions, _ATTRIBUTES, argv, envp)
    finally:
        _LIBC[1].posix_spawn_file_actions_destroy(actions)
    if error:
        raise OSError(error, os.strerror(error), os.fsdecode(program))
    return SpawnedProcess(pid.value)


def _call(name: str, *args: Any) -> None:
    # The file-action and attribute setters return an error number; sigemptyset/sigaddset return -1 and set
    # errno. Either way nonzero means the spawn cannot be set up as asked.
    assert _LIBC is not None
    if getattr(_LIBC[1], name)(*args) != 0:
        error = ctypes.get_errno() or 22
        raise OSError(error, f"{name}: {os.strerror(error)}")


_ATTRIBUTES = _shared_attributes()


def _strings(values: Any) -> ctypes.Array[ctypes.c_char_p]:
    encoded = [os.fsencode(value) for value in values]
    return (ctypes.c_char_p * (len(encoded) + 1))(*encoded, None)


def _popen(argv: Sequence[str], cwd: Path, env: Mapping[str, str], stdout: Path, stderr: Path,
           append: bool, credentials: Credentials | None = None) -> TaskProcess:
    mode = "ab" if append else "wb"
    with open(stdout, mode) as out, open(stderr, mode) as err:
        if credentials is None:
            return subprocess.Popen(list(argv), cwd=cwd, env=dict(env), stdin=subprocess.DEVNULL, stdout=out,
                                    stderr=err, start_new_session=True)
        for opened in (out, err):
            os.fchown(opened.fileno(), credentials.uid, credentials.gid)
        return subprocess.Popen(list(argv), cwd=cwd, env=dict(env), stdin=subprocess.DEVNULL, stdout=out,
                                stderr=err, start_new_session=True, user=credentials.uid,
                                group=credentials.gid, extra_groups=list(credentials.groups))
