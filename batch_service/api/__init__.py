"""HTTP only: the aiohttp app and its middlewares (request ids, faults, error bodies, Shared Key, api-version),
the route tables with their thin handlers (jobs, tasks, pools, nodes, files, schedules), OData and paging.

Handlers translate the wire into keyword arguments and call the backend; they hold no state and no rules.
May import: batch_service.backend, batch_service.validation and the top-level settings, faults and durations.
Imported by: batch_service.app only.
"""
