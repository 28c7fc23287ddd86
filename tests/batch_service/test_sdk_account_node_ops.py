"""The operations that complete the 2025-06-01 data plane, each through the official SDK (azure-batch 15.1.0),
refusals included: applications, supported images, node counts, pool usage metrics, node users, remote login
settings, log upload, node extensions, and node start / reimage / deallocate with their state rules.

azure-batch 15.1.0 defines the reimage and deallocate option models but does not export them from
azure.batch.models; they are imported from where it defines them."""
from __future__ import annotations

import datetime as dt
import http.server
import threading
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest
from azure.batch import BatchClient, models
from azure.batch.models._models import BatchNodeDeallocateOptions as DeallocateOptions
from azure.batch.models._models import BatchNodeReimageOptions as ReimageOptions
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from tests.batch_service.pool_support import POLL, VM, add_pool, wait_until
from tests.support.service import RunningService

EXTENSION = {"name": "batchNodeExtension", "publisher": "Microsoft.Azure.Extensions", "type": "CustomScript",
             "typeHandlerVersion": "2.0", "autoUpgradeMinorVersion": True,
             "protectedSettings": {"commandToExecute": "echo secret-value"}}


def _error(raised: pytest.ExceptionInfo[HttpResponseError]) -> tuple[int | None, str | None]:
    error = raised.value.error
    return raised.value.status_code, error.code if error is not None else None


def _node_ids(sdk: BatchClient, pool_id: str) -> list[str]:
    return [str(node.id) for node in sdk.list_nodes(pool_id)]


def _state(sdk: BatchClient, pool_id: str, node_id: str) -> str:
    state = sdk.get_node(pool_id, node_id).state
    return "" if state is None else str(state.value)


@pytest.fixture
def pool(sdk: BatchClient, uid: str) -> str:
    """A pool of two dedicated nodes with one VM extension."""
    add_pool(sdk, uid, targetDedicatedNodes=2, virtualMachineConfiguration={**VM, "extensions": [EXTENSION]})
    wait_until(lambda: len(_node_ids(sdk, uid)), lambda count: count == 2)
    return uid


# --- account reads --------------------------------------------------------------------------------------------

def test_applications_list_and_get(sdk: BatchClient) -> None:
    listed = list(sdk.list_applications())
    assert [(app.id, app.versions) for app in listed] == [("local-tools", ["1.0"])]
    assert sdk.get_application("LOCAL-TOOLS").display_name == listed[0].display_name
    with pytest.raises(ResourceNotFoundError) as raised:
        sdk.get_application("no-such-app")
    assert _error(raised) == (404, "ApplicationNotFound")


def test_supported_images_with_filter_and_paging(sdk: BatchClient) -> None:
    images = list(sdk.list_supported_images())
    assert "batch.node.ubuntu 22.04" in [image.node_agent_sku_id for image in images]
    verified = list(sdk.list_supported_images(filter="verificationType eq 'verified'"))
    assert verified and all(image.verification_type == models.ImageVerificationType.VERIFIED for image in verified)
    assert len(verified) < len(images)
    assert [image.node_agent_sku_id for image in sdk.list_supported_images(max_results=1)] == \
        [image.node_agent_sku_id for image in images]
    with pytest.raises(HttpResponseError) as raised:
        list(sdk.list_supported_images(filter="verificationType eq"))
    assert _error(raised) == (400, "InvalidQueryParameterValue")


def test_node_counts_follow_the_pools_nodes(sdk: BatchClient, pool: str) -> None:
    node = _node_ids(sdk, pool)[0]
    sdk.disable_node_scheduling(pool, node, models.BatchNodeDisableSchedulingOptions(node_disable_scheduling_option="requeue"))
    counts = list(sdk.list_pool_node_counts(filter=f"poolId eq '{pool}'"))
    assert [entry.pool_id for entry in counts] == [pool]
    dedicated = counts[0].dedicated
    assert (dedicated.idle, dedicated.offline, dedicated.total) == (1, 1, 2)
    assert counts[0].low_priority.total == 0
    with pytest.raises(HttpResponseError) as raised:
        list(sdk.list_pool_node_counts(filter="poolId eq"))
    assert raised.value.status_code == 400


def test_pool_usage_metrics_from_the_pools_nodes(sdk: BatchClient, pool: str) -> None:
    metrics = list(sdk.list_pool_usage_metrics(filter=f"poolId eq '{pool}'"))
    assert metrics and {entry.pool_id for entry in metrics} == {pool}
    assert metrics[-1].vm_size == "standard_d2s_v3"
    assert (metrics[-1].end_time - metrics[-1].start_time) == dt.timedelta(minutes=30)
    assert metrics[-1].total_core_hours > 0  # two 2-core nodes have been allocated for a moment
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)
    assert list(sdk.list_pool_usage_metrics(start_time=later, filter=f"poolId eq '{pool}'")) == []


# --- node verbs and their state rules -------------------------------------------------------------------------

def test_deallocate_then_start_and_the_409s_between(sdk: BatchClient, pool: str) -> None:
    node = _node_ids(sdk, pool)[0]
    with pytest.raises(HttpResponseError) as raised:
        sdk.begin_start_node(pool, node, polling_interval=POLL).result()  # type: ignore[arg-type]
    assert _error(raised) == (409, "OperationInvalidForCurrentState")
    sdk.begin_deallocate_node(pool, node, DeallocateOptions(node_deallocate_option="terminate"),
                              polling_interval=POLL).result()  # type: ignore[arg-type]
    assert wait_until(lambda: _state(sdk, pool, node), lambda state: state == "deallocated") == "deallocated"
    for refused in (lambda: sdk.begin_reimage_node(pool, node, ReimageOptions(node_reimage_option="requeue")).result(),
                    lambda: sdk.begin_deallocate_node(pool, node, DeallocateOptions(node_deallocate_option="requeue")).result()):
        with pytest.raises(HttpResponseError) as raised:
            refused()
        assert _error(raised) == (409, "OperationInvalidForCurrentState")
    sdk.begin_start_node(pool, node, polling_interval=POLL).result()  # type: ignore[arg-type]
    assert wait_until(lambda: _state(sdk, pool, node), lambda state: state == "idle") == "idle"


def test_reimage_removes_the_nodes_users_and_refuses_while_reimaging(sdk: BatchClient, pool: str) -> None:
    node = _node_ids(sdk, pool)[0]
    sdk.create_node_user(pool, node, models.BatchNodeUserCreateOptions(name="alice", password="pa55-Word"))
    poller = sdk.begin_reimage_node(pool, node, ReimageOptions(node_reimage_option="requeue"),
                                    polling_interval=POLL)  # type: ignore[arg-type]
    assert _state(sdk, pool, node) in ("reimaging", "idle")
    if _state(sdk, pool, node) == "reimaging":
        with pytest.raises(HttpResponseError) as raised:
            sdk.create_node_user(pool, node, models.BatchNodeUserCreateOptions(name="bob"))
        assert _error(raised) == (409, "NodeBeingReimaged")
    poller.result()
    wait_until(lambda: _state(sdk, pool, node), lambda state: state == "idle")
    with pytest.raises(ResourceNotFoundError) as missing:
        sdk.delete_node_user(pool, node, "alice")
    assert _error(missing) == (404, "NodeUserNotFound")


def test_node_verbs_on_a_missing_node_and_a_bad_option(sdk: BatchClient, pool: str) -> None:
    with pytest.raises(ResourceNotFoundError) as raised:
        sdk.begin_reimage_node(pool, "tvm-missing", ReimageOptions(node_reimage_option="requeue")).result()
    assert _error(raised) == (404, "NodeNotFound")
    with pytest.raises(HttpResponseError) as bad:
        sdk.begin_deallocate_node(pool, _node_ids(sdk, pool)[0],
                                  DeallocateOptions({"nodeDeallocateOption": "sometime"})).result()
    assert _error(bad) == (400, "InvalidPropertyValue")


# --- users ----------------------------------------------------------------------------------------------------

def test_node_user_create_replace_delete(sdk: BatchClient, pool: str, service: RunningService) -> None:
    node = _node_ids(sdk, pool)[0]
    expiry = dt.datetime.now(dt.UTC) + dt.timedelta(hours=3)
    sdk.create_node_user(pool, node, models.BatchNodeUserCreateOptions(name="alice", is_admin=True,
                                                                       password="pa55-Word", expiry_time=expiry))
    with pytest.raises(HttpResponseError) as exists:
        sdk.create_node_user(pool, node, models.BatchNodeUserCreateOptions(name="ALICE"))
    assert _error(exists) == (409, "NodeUserExists")
    sdk.replace_node_user(pool, node, "alice", models.BatchNodeUserReplaceOptions(ssh_public_key="ssh-rsa AAAA"))
    with pytest.raises(ResourceNotFoundError) as missing:
        sdk.replace_node_user(pool, node, "carol", models.BatchNodeUserReplaceOptions(password="x"))
    assert _error(missing) == (404, "NodeUserNotFound")
    sdk.delete_node_user(pool, node, "alice")
    with pytest.raises(ResourceNotFoundError):
        sdk.delete_node_user(pool, node, "alice")
    store = (service.data_dir / "batch.sqlite3")
    stored = b"".join(path.read_bytes() for path in service.data_dir.glob("*.sqlite3*"))
    assert store.exists() and b"pa55-Word" not in stored


def test_node_user_bodies_are_validated(sdk: BatchClient, pool: str) -> None:
    node = _node_ids(sdk, pool)[0]
    with pytest.raises(HttpResponseError) as missing:
        sdk.create_node_user(pool, node, models.BatchNodeUserCreateOptions({"isAdmin": True}))
    assert _error(missing) == (400, "MissingRequiredProperty")
    with pytest.raises(HttpResponseError) as bad:
        sdk.create_node_user(pool, node, models.BatchNodeUserCreateOptions({"name": "x", "expiryTime": "soon"}))
    assert _error(bad) == (400, "InvalidPropertyValue")
    with pytest.raises(HttpResponseError) as unknown:
        sdk.create_node_user(pool, node, models.BatchNodeUserCreateOptions({"name": "x", "uid": 7}))
    assert _error(unknown) == (400, "InvalidRequestBody")


# --- remote login, extensions ---------------------------------------------------------------------------------

def test_remote_login_settings(sdk: BatchClient, pool: str) -> None:
    settings = sdk.get_node_remote_login_settings(pool, _node_ids(sdk, pool)[0])
    assert (settings.remote_login_ip_address, settings.remote_login_port) == ("127.0.0.1", 22)
    with pytest.raises(ResourceNotFoundError):
        sdk.get_node_remote_login_settings(pool, "tvm-missing")


def test_node_extensions_list_and_get_without_protected_settings(sdk: BatchClient, pool: str) -> None:
    node = _node_ids(sdk, pool)[0]
    listed = list(sdk.list_node_extensions(pool, node))
    assert [entry.vm_extension.name for entry in listed] == ["batchNodeExtension"]
    assert listed[0].provisioning_state == "Succeeded"
    assert listed[0].instance_view.statuses[0].code == "ProvisioningState/succeeded"
    one = sdk.get_node_extension(pool, node, "batchnodeextension")
    assert one.vm_extension.type == "CustomScript" and one.vm_extension.protected_settings is None
    with pytest.raises(ResourceNotFoundError) as raised:
        sdk.get_node_extension(pool, node, "other")
    assert raised.value.status_code == 404


# --- log upload -----------------------------------------------------------------------------------------------

class _Container(http.server.BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[str, str, int]]] = []

    def do_PUT(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        self.rfile.read(length)
        self.received.append((self.path, self.headers.get("x-ms-blob-type", ""), length))
        self.send_response(201)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        """Quiet."""


@pytest.fixture
def container() -> Iterator[tuple[str, list[tuple[str, str, int]]]]:
    """A local blob container endpoint that records each PUT."""
    received: ClassVar[list[tuple[str, str, int]]] = []
    handler = type("Handler", (_Container,), {"received": received})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/logs?sv=2025&sig=abc", received
    server.shutdown()
    server.server_close()


def test_upload_batch_service_logs_puts_each_file(sdk: BatchClient, pool: str, service: RunningService,
                                                  container: tuple[str, list[tuple[str, str, int]]]) -> None:
    url, received = container
    node = _node_ids(sdk, pool)[0]
    log_dir = service.data_dir / "node" / "startup"
    (log_dir / "agent-test.log").write_text("agent started\n")
    since = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    result = sdk.upload_node_logs(pool, node, models.UploadBatchServiceLogsOptions(container_url=url,
                                                                                   start_time=since))
    assert result.virtual_directory_name.startswith(f"{pool}/{node}/")
    assert result.number_of_files_uploaded == len(received) >= 1
    assert all(blob_type == "BlockBlob" and "sig=abc" in path for path, blob_type, _ in received)
    assert any(path.split("?")[0].endswith("/startup/agent-test.log") for path, _, _ in received)
    with pytest.raises(HttpResponseError) as raised:
        sdk.upload_node_logs(pool, node, models.UploadBatchServiceLogsOptions(container_url="ftp://x/y",
                                                                              start_time=since))
    assert _error(raised) == (400, "InvalidPropertyValue")
