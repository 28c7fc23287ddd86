"""The project's Python language host: what the engine runs as `pulumi-language-python <engine-address>`.

The engine starts it for every command on a Python project, reads the port from its first line of output and
calls the `LanguageRuntime` gRPC service (the SDK ships the stubs). It runs the program through the SDK's
`pulumi-language-python-exec` in the project's virtualenv, and starts the dynamic-provider host of the command
ahead of time so that the program's first resource does not wait for it.

Modules: `stubs` (loading the SDK's generated stubs), `runtime` (which Python runs the program), `program`
(running and cancelling it), `packages` (what the program needs), `provider_host` (the pre-started host),
`server` (the gRPC service and its life cycle). Imports: the standard library, grpc and protobuf, and the SDK's
generated stubs only; never the SDK's runtime, nor the project's packages.
"""
