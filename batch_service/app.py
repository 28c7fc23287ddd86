"""The composition root: builds the store, backend, HTTP app and task engine, and serves until SIGTERM.

This is the one module that sees every layer (api, backend, scheduler, runner); the layers never import it.
"""
from __future__ import annotations

import asyncio
import json
import logging
import signal
from typing import Protocol

from aiohttp import web

from batch_service.api.app import build_app
from batch_service.backend.account import Backend
from batch_service.backend.store import Store
from batch_service.faults import FaultInjector
from batch_service.os_accounts import OsAccounts, platform_supports_accounts
from batch_service.runner.process import InstantRunner, ProcessRunner, Runner
from batch_service.scheduler.engine import Scheduler
from batch_service.settings import Settings

log = logging.getLogger("batch_service")


class TaskEngine(Protocol):
    """What serve() needs from the scheduler besides the Lifecycle methods."""

    async def start(self) -> None:
        """Begin scheduling (after the backend has loaded its state)."""

    async def stop(self) -> None:
        """Stop scheduling and running tasks."""


def attach_task_engine(backend: Backend, settings: Settings) -> TaskEngine | None:
    """The one place that decides what runs tasks: the scheduler with the chosen runner; with `--runner none`
    the backend keeps its ImmediateLifecycle."""
    if settings.runner == "none":
        return None
    runner: Runner = ProcessRunner(backend.os_accounts) if settings.runner == "process" else InstantRunner()
    scheduler = Scheduler(backend, runner, settings)
    backend.lifecycle = scheduler
    engine: TaskEngine = scheduler
    return engine


def _announced_host(host: str) -> str:
    if host in ("", "0.0.0.0", "::"):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


async def serve(settings: Settings) -> None:
    """Run until SIGTERM/SIGINT; print the ready line; flush state on the way out."""
    store = Store(settings.data_dir / "batch.sqlite3")
    backend = Backend(store, settings.data_dir, delete_delay=settings.delete_delay,
                      default_pool_id=settings.default_pool_id, default_pool_slots=settings.max_slots,
                      resize_delay=settings.resize_delay)
    backend.load()
    backend.os_accounts = OsAccounts(settings.data_dir, settings.os_users == "auto" and platform_supports_accounts())
    backend.os_accounts.remove_all()  # whatever a previous run left behind, then the stored users' accounts
    backend.node_extras.restore_accounts()
    runner = web.AppRunner(build_app(settings, backend, FaultInjector(settings.faults)), access_log=None,
                           handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, settings.host, settings.port)
    await site.start()
    port = runner.addresses[0][1]
    settings.endpoint = f"http://{_announced_host(settings.host)}:{port}"
    backend.base_url = settings.endpoint
    engine = attach_task_engine(backend, settings)
    backend.resume()
    if engine is not None:
        await engine.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    print(json.dumps({"endpoint": settings.endpoint, "accountName": settings.account_name,
                      "accountKey": settings.account_key}), flush=True)
    log.info("serving %s with data in %s", settings.endpoint, settings.data_dir)
    await stop.wait()
    if engine is not None:
        await engine.stop()
    await runner.cleanup()
    backend.cancel_timers()
    backend.os_accounts.remove_all()
    store.close()
    log.info("stopped; state flushed")
