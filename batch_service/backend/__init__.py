"""State and rules of the local Batch account, no HTTP: read models, state machines as data, the lifecycle
seam, the SQLite store, ids and timestamps, errors by code, pools, nodes, autoscale, statistics and schedules.

May import: batch_service.validation and the top-level durations module; never the api, scheduler or runner.
Imported by: api, scheduler, runner (for the statistics it accounts) and batch_service.app.
"""
