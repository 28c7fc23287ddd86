"""Request-body validation: the service's walk over the `batch_api` tables (one per body: job, task, pool,
schedule, updates) and the checks that need the stored job. Raises ValidationError, which the backend's
errors turn into 400 bodies.

May import: batch_api only. Imported by: backend, api.
"""
