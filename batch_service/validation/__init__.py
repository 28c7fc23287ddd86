"""Request-body validation: one table of fields per body (job, task, pool, schedule, updates) and the checks
that read them. Raises ValidationError, which the backend's errors turn into 400 bodies.

May import: the top-level durations module only. Imported by: backend, api.
"""
