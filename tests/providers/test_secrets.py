"""A spec is marked secret exactly when the schema's secret fields hold a real credential or a SAS URL."""
from __future__ import annotations

import json

from providers.secrets import has_sensitive_values


def test_registry_password_and_pool_credentials_make_a_spec_sensitive() -> None:
    task = {"id": "t", "commandLine": "x", "containerSettings": {"imageName": "u", "registry": {
        "registryServer": "r.io", "username": "u", "password": "p"}}}
    assert has_sensitive_values("task", task)
    job = {"id": "j", "poolInfo": {"autoPoolSpecification": {"poolLifetimeOption": "job", "pool": {
        "vmSize": "x", "userAccounts": [{"name": "a", "password": "p"}]}}}}
    assert has_sensitive_values("job", job)


def test_urls_count_only_with_a_sas_query_and_plain_env_values_do_not() -> None:
    plain = {"id": "t", "commandLine": "x", "environmentSettings": [{"name": "A", "value": "b"}],
             "resourceFiles": [{"httpUrl": "https://store/app.exe", "filePath": "app.exe"}]}
    assert not has_sensitive_values("task", plain)
    signed = {**plain, "resourceFiles": [{"httpUrl": "https://store/app.exe?sv=1&sig=abc", "filePath": "app.exe"}]}
    assert has_sensitive_values("task", signed)


def test_a_collection_is_checked_task_by_task_also_as_json_text() -> None:
    tasks = [{"id": "a", "commandLine": "x"},
             {"id": "b", "commandLine": "x", "outputFiles": [{"filePattern": "*.txt", "destination": {
                 "container": {"containerUrl": "https://store/out?sig=s"}},
                 "uploadOptions": {"uploadCondition": "tasksuccess"}}]}]
    assert has_sensitive_values("task", tasks)
    assert has_sensitive_values("task", json.dumps(tasks))
    assert not has_sensitive_values("task", json.dumps(tasks[:1]))
