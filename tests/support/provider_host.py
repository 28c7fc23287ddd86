"""Talk to a dynamic-provider host process over gRPC, as the engine does."""
from __future__ import annotations

import asyncio

import grpc
from pulumi.dynamic.dynamic import serialize_provider
from pulumi.runtime import rpc
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

from providers.task import BatchTaskProvider

TASK_URN = "urn:pulumi:test::project::pulumi-python:dynamic/batch:Task::t"


def check_a_task(port: int) -> provider_pb2.CheckResponse:
    """Configure the host listening on `port` and ask it to Check a valid BatchTask (no service needed)."""
    props = {"__provider": serialize_provider(BatchTaskProvider()), "job_id": "job",
             "spec": {"id": "t", "commandLine": "/bin/true"}}
    struct = asyncio.run(rpc.serialize_properties(props, {}))
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = provider_pb2_grpc.ResourceProviderStub(channel)
        stub.Configure(provider_pb2.ConfigureRequest())
        return stub.Check(provider_pb2.CheckRequest(urn=TASK_URN, olds=struct, news=struct))
