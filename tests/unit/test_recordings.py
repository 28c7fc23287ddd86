"""The one translation of the real service's recordings (older api-versions) to 2025-06-01."""
from __future__ import annotations

import json
from typing import Any

from tests.support.recordings import (
    API_VERSION,
    CONVERSATIONS,
    REMOVED,
    TRANSLATION,
    load,
    raw,
    translate_body,
    translate_uri,
)


def _keys(body: Any) -> set[str]:
    if isinstance(body, list):
        return set().union(*(_keys(item) for item in body)) if body else set()
    if isinstance(body, dict):
        return set(body).union(*(_keys(value) for value in body.values()))
    return set()


def test_every_fixture_states_where_it_comes_from_and_its_api_version() -> None:
    for name in CONVERSATIONS:
        source = raw(name)["source"]
        assert source["repository"] == "Azure/azure-sdk-for-python"
        assert source["path"].startswith("sdk/batch/azure-batch/tests/recordings/")
        assert len(source["commit"]) == 40 and source["apiVersion"] != API_VERSION
        assert all(f"api-version={source['apiVersion']}" in e["RequestUri"] for e in raw(name)["Entries"])
    examples = raw("spec_examples")
    assert examples["source"]["apiVersion"] == API_VERSION
    assert all(len(example["commit"]) == 40 for example in examples["examples"])


def test_a_uri_keeps_its_path_and_query_with_the_new_api_version() -> None:
    uri = ("https://acct.eastasia.batch.azure.com/pools?api-version=2023-05-01.17.0"
           "&$filter=startswith%28id%2C%27batch_app_%27%29&$select=id%2Cstate&$expand=stats")
    assert translate_uri(uri) == (
        "/pools?api-version=2025-06-01&$filter=startswith(id,%27batch_app_%27)&$select=id,state&$expand=stats")
    assert translate_uri("https://a.b/jobs/j1?api-version=2022-10-01.16.0") == "/jobs/j1?api-version=2025-06-01"


def test_a_cloud_service_configuration_becomes_the_same_windows_release_as_a_marketplace_image() -> None:
    asked = {"vmSize": "standard_d2_v2", "cloudServiceConfiguration": {"osFamily": "5"}}
    assert translate_body(asked) == {"vmSize": "standard_d2_v2", "virtualMachineConfiguration": {
        "imageReference": {"publisher": "MicrosoftWindowsServer", "offer": "WindowsServer", "sku": "2016-Datacenter"},
        "nodeAgentSKUId": "batch.node.windows amd64"}}
    reported = translate_body({"cloudServiceConfiguration": {"osFamily": "5", "osVersion": "*"}})
    assert reported["virtualMachineConfiguration"]["imageReference"]["version"] == "latest"


def test_removed_properties_are_left_out_at_any_depth() -> None:
    body = {"pool": {"applicationLicenses": ["maya"], "targetNodeCommunicationMode": "classic",
                     "metadata": [{"name": "a", "value": "b"}]},
            "nodes": [{"id": "n1", "certificateReferences": [], "currentNodeCommunicationMode": "classic"}],
            "resourceTags": {"a": "b"}}
    assert translate_body(body) == {"pool": {"metadata": [{"name": "a", "value": "b"}]}, "nodes": [{"id": "n1"}]}


def test_a_data_disk_storage_account_type_moves_into_its_managed_disk() -> None:
    disks = translate_body({"dataDisks": [{"lun": 1, "caching": "none", "diskSizeGB": 50,
                                           "storageAccountType": "standard_lrs"}, {"lun": 2, "diskSizeGB": 8}]})
    assert disks == {"dataDisks": [
        {"lun": 1, "caching": "none", "diskSizeGB": 50, "managedDisk": {"storageAccountType": "standard_lrs"}},
        {"lun": 2, "diskSizeGB": 8}]}


def test_node_counts_gain_the_newer_node_states_at_zero() -> None:
    counts = {"creating": 1, "idle": 2, "waitingForStartTask": 0, "total": 3}
    translated = translate_body({"value": [{"poolId": "p", "dedicated": counts, "lowPriority": counts}]})
    for side in ("dedicated", "lowPriority"):
        assert translated["value"][0][side] == {"creating": 1, "idle": 2, "waitingForStartTask": 0, "total": 3,
                                                "deallocated": 0, "deallocating": 0, "upgradingOS": 0}
    assert translate_body({"dedicated": {"idle": 1}}) == {"dedicated": {"idle": 1}}  # not a node count


def test_the_translated_recordings_hold_nothing_2025_06_01_removed() -> None:
    before = set().union(*(_keys([e["RequestBody"], e["ResponseBody"]]) for n in CONVERSATIONS
                           for e in raw(n)["Entries"]))
    assert {"cloudServiceConfiguration", "targetNodeCommunicationMode", "applicationLicenses",
            "certificateReferences", "storageAccountType"} <= before  # the fixtures do need the translation
    for name in CONVERSATIONS:
        for ex in load(name).exchanges:
            assert f"api-version={API_VERSION}" in ex.path and "://" not in ex.path
            keys = _keys([ex.request, ex.response])
            assert not keys & {*REMOVED, "cloudServiceConfiguration", "osFamily", "osVersion"}
            text = json.dumps([ex.request, ex.response])
            assert '"storageAccountType"' not in text or '"managedDisk"' in text


def test_every_rule_is_written_down_once() -> None:
    names = [name for name, _ in TRANSLATION]
    assert len(names) == len(set(names))
    assert set(REMOVED) <= set(names) and "cloudServiceConfiguration" in names
