"""A local Azure Batch data-plane service speaking REST api-version 2025-06-01 (`python -m batch_service serve`).

The layers, each a package whose docstring says what it may import (tests/batch_service/test_layers.py holds
the code to it, with no import cycle):
    api/         HTTP only: app, middlewares, routes, handlers, OData, Shared Key, error bodies
    backend/     state and rules: models, states, lifecycle, store, pools, nodes, jobs, tasks, schedules
    validation/  request-body validation tables
    scheduler/   slots, priorities, dependencies, retries, wall clock, exit conditions, job completion
    runner/      ProcessRunner and InstantRunner: spawn, task directories, environment, files
Top-level modules: __main__ (the command), app (composition root: wires the layers and serves), settings
and faults (the command line and its fault plan), durations (the one ISO 8601 duration parser), os_accounts
(node users as OS accounts of this machine, where the platform allows; backend and runner both use it).
"""
from __future__ import annotations

API_VERSION = "2025-06-01"

__all__ = ["API_VERSION"]
