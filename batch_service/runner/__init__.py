"""How a task's command line runs: ProcessRunner (posix_spawn, task directories, environment, resource files
and output files) and InstantRunner, which completes tasks without starting a process.

May import: batch_service.backend.stats (the accounting a finished process hands back); nothing else of the
service. Imported by: scheduler and batch_service.app.
"""
