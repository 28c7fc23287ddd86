"""What runs when: task slots on the pools' nodes, priorities, dependencies, retries and requeues, wall clock
limits, exit conditions, job completion, retention and job preparation/release. The scheduler is the backend's
Lifecycle: the backend reports committed changes, the scheduler reports back through the backend's methods.

May import: batch_service.backend, batch_service.runner, the top-level settings and durations; never the api.
Imported by: batch_service.app only.
"""
