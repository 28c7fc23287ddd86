"""Policy rules from stack config / BATCH_POLICY, evaluated in check(): each rule passes and refuses a spec."""
from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from providers import _base
from providers.job import BatchJobProvider
from providers.policy import load_policy, policy_failures
from providers.task import BatchTaskProvider

ADMIN = {"autoUser": {"scope": "task", "elevationLevel": "admin"}}


def compliant_job() -> dict[str, Any]:
    """A job every rule of the policies below accepts."""
    return {
        "id": "policy-job", "priority": 10,
        "constraints": {"maxWallClockTime": "PT1H", "maxTaskRetryCount": 2},
        "jobManagerTask": {"id": "jm", "commandLine": "/bin/true",
                           "userIdentity": {"autoUser": {"scope": "task", "elevationLevel": "nonadmin"}}},
        "poolInfo": {"autoPoolSpecification": {"poolLifetimeOption": "job", "pool": {
            "vmSize": "Standard_D2s_v3", "targetDedicatedNodes": 1, "virtualMachineConfiguration": {
                "imageReference": {"publisher": "canonical", "offer": "ubuntu-24_04-lts", "sku": "server"},
                "nodeAgentSKUId": "batch.node.ubuntu 24.04"},
            "startTask": {"commandLine": "/bin/true", "maxTaskRetryCount": 1}}}},
    }


def violating(change: str) -> dict[str, Any]:
    """The compliant job with one rule broken."""
    spec = copy.deepcopy(compliant_job())
    if change == "no-wallclock":
        del spec["constraints"]["maxWallClockTime"]
    elif change == "admin":
        spec["jobManagerTask"]["userIdentity"] = ADMIN
    elif change == "vm-size":
        spec["poolInfo"]["autoPoolSpecification"]["pool"]["vmSize"] = "standard_nc24"
    elif change == "priority":
        spec["priority"] = 900
    elif change == "retries":
        spec["poolInfo"]["autoPoolSpecification"]["pool"]["startTask"]["maxTaskRetryCount"] = -1
    return spec


CASES = [
    ({"requireMaxWallClockTime": True}, "no-wallclock",
     ("policy requireMaxWallClockTime: spec.constraints.maxWallClockTime is not set; this stack requires every "
     "job to have one")),
    ({"forbidAdminElevation": True}, "admin",
     ("policy forbidAdminElevation: spec.jobManagerTask.userIdentity.autoUser.elevationLevel is admin; "
     "this stack does not allow admin tasks")),
    ({"allowedVmSizes": ["standard_d2s_v3"]}, "vm-size",
     ("policy allowedVmSizes: spec.poolInfo.autoPoolSpecification.pool.vmSize is 'standard_nc24'; "
     "allowed: standard_d2s_v3")),
    ({"priorityRange": [-100, 100]}, "priority",
     "policy priorityRange: spec.priority is 900; this stack allows -100 to 100"),
    ({"maxTaskRetryCountLimit": 5}, "retries",
     ("policy maxTaskRetryCountLimit: spec.poolInfo.autoPoolSpecification.pool.startTask.maxTaskRetryCount "
     "is -1 (unlimited retries); this stack allows at most 5")),
]


@pytest.mark.parametrize(("policy", "change", "message"), CASES, ids=[next(iter(c[0])) for c in CASES])
def test_each_rule_passes_a_compliant_job_and_names_rule_and_field_for_a_violating_one(
        policy: dict[str, Any], change: str, message: str) -> None:
    assert policy_failures("job", compliant_job(), policy) == []
    failures = policy_failures("job", violating(change), policy)
    assert [(f.property, f.reason) for f in failures] == [("", message)]


def test_all_rules_together_report_every_violation_and_nothing_for_a_compliant_job() -> None:
    policy = {k: v for case in CASES for k, v in case[0].items()}
    assert policy_failures("job", compliant_job(), policy) == []
    spec = violating("no-wallclock")
    spec["jobManagerTask"]["userIdentity"] = ADMIN
    spec["priority"] = 900
    spec["poolInfo"] = {"autoPoolSpecification": {"poolLifetimeOption": "job", "pool": {
        "vmSize": "standard_nc24", "startTask": {"commandLine": "/bin/true", "maxTaskRetryCount": -1}}}}
    reasons = [f.reason for f in policy_failures("job", spec, policy)]
    assert reasons == [message for _, _, message in CASES]


def test_task_rules_cover_admin_identity_and_retry_limit_but_not_job_only_rules() -> None:
    policy = {"forbidAdminElevation": True, "maxTaskRetryCountLimit": 3, "requireMaxWallClockTime": True,
              "priorityRange": [0, 1]}
    ok = {"id": "t", "commandLine": "/bin/true", "constraints": {"maxTaskRetryCount": 3}}
    assert policy_failures("task", ok, policy) == []
    bad = {**ok, "userIdentity": ADMIN, "constraints": {"maxTaskRetryCount": 4}}
    assert [f.reason for f in policy_failures("task", bad, policy)] == [
        ("policy forbidAdminElevation: spec.userIdentity.autoUser.elevationLevel is admin; "
        "this stack does not allow admin tasks"),
        "policy maxTaskRetryCountLimit: spec.constraints.maxTaskRetryCount is 4; this stack allows at most 3",
    ]


def test_admin_elevation_inside_lists_is_found_with_its_index() -> None:
    spec = {**compliant_job(), "jobPreparationTask": {"commandLine": "/bin/true", "userIdentity": ADMIN}}
    spec["poolInfo"]["autoPoolSpecification"]["pool"]["startTask"]["userIdentity"] = ADMIN
    reasons = [f.reason for f in policy_failures("job", spec, {"forbidAdminElevation": True})]
    assert [r.split(" is ")[0] for r in reasons] == [
        ("policy forbidAdminElevation: spec.poolInfo.autoPoolSpecification.pool.startTask.userIdentity.autoUser"
        ".elevationLevel"),
        "policy forbidAdminElevation: spec.jobPreparationTask.userIdentity.autoUser.elevationLevel"]


def test_missing_priority_counts_as_the_default_zero() -> None:
    spec = {k: v for k, v in compliant_job().items() if k != "priority"}
    assert policy_failures("job", spec, {"priorityRange": [0, 10]}) == []
    assert [f.reason for f in policy_failures("job", spec, {"priorityRange": [1, 10]})] == [
        "policy priorityRange: spec.priority is 0; this stack allows 1 to 10"]


def test_unknown_rules_and_malformed_settings_are_refused_not_ignored() -> None:
    reasons = [f.reason for f in policy_failures("job", compliant_job(),
                                                 {"forbidAdmin": True, "priorityRange": [5, 1]})]
    assert reasons[0].startswith("policy: unknown rule 'forbidAdmin'; known rules: requireMaxWallClockTime")
    assert reasons[1] == "policy priorityRange: the setting must be [min, max] integers with min <= max"


def test_config_key_wins_over_the_environment_fallback() -> None:
    env = {"BATCH_POLICY": json.dumps({"priorityRange": [0, 1]})}
    assert load_policy({"batch:policy": '{"forbidAdminElevation": true}'}, env) == {"forbidAdminElevation": True}
    assert load_policy({}, env) == {"priorityRange": [0, 1]}
    assert load_policy({"batch:policy": ""}, {}) == {}
    with pytest.raises(TypeError, match="JSON object"):
        load_policy({"batch:policy": "[1, 2]"}, {})


@pytest.fixture()
def stack_policy(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A stack config as configure() would store it, holding a policy."""
    config = {"batch:policy": json.dumps({"forbidAdminElevation": True, "maxTaskRetryCountLimit": 1})}
    monkeypatch.setattr(_base, "_stack_config", config)
    monkeypatch.delenv("BATCH_POLICY", raising=False)
    return config


def test_job_and_task_check_append_policy_failures_from_the_stack_config(stack_policy: dict[str, str]) -> None:
    job = BatchJobProvider().check({}, {"spec": {**compliant_job(), "jobManagerTask": {
        "id": "jm", "commandLine": "/bin/true", "userIdentity": ADMIN}}})
    assert [f.reason for f in job.failures] == [
        ("policy forbidAdminElevation: spec.jobManagerTask.userIdentity.autoUser.elevationLevel is admin; "
        "this stack does not allow admin tasks"),
        "policy maxTaskRetryCountLimit: spec.constraints.maxTaskRetryCount is 2; this stack allows at most 1"]
    task = BatchTaskProvider().check({}, {"job_id": "j", "spec": {"id": "t", "commandLine": "/bin/true"}})
    assert task.failures == []


def test_an_invalid_policy_in_config_refuses_check_with_a_clear_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_base, "_stack_config", {"batch:policy": "{not json"})
    result = BatchTaskProvider().check({}, {"job_id": "j", "spec": {"id": "t", "commandLine": "/bin/true"}})
    assert len(result.failures) == 1
    assert result.failures[0].reason.startswith("policy: stack config 'batch:policy' / BATCH_POLICY is not valid")


def test_max_wall_clock_time_bounds_jobs_and_tasks_and_counts_unlimited_as_over() -> None:
    policy = {"maxWallClockTime": "PT12H"}
    assert policy_failures("job", compliant_job(), policy) == []
    over = {**compliant_job(), "constraints": {"maxWallClockTime": "P1D"}}
    assert [f.reason for f in policy_failures("job", over, policy)] == [
        "policy maxWallClockTime: spec.constraints.maxWallClockTime is P1D; this stack allows at most PT12H"]
    unlimited = {"id": "t", "commandLine": "x", "constraints": {"maxWallClockTime": "P10675199DT2H48M5.4775807S"}}
    assert len(policy_failures("task", unlimited, policy)) == 1
    assert policy_failures("task", {"id": "t", "commandLine": "x"}, policy) == []  # the job's limit bounds it
    assert [f.reason for f in policy_failures("job", compliant_job(), {"maxWallClockTime": "soon"})] == [
        "policy maxWallClockTime: the setting must be an ISO-8601 duration such as PT24H"]


def test_required_metadata_keys_name_each_missing_key_of_a_job() -> None:
    job = {**compliant_job(), "metadata": [{"name": "owner", "value": "render"}]}
    policy = {"requiredMetadataKeys": ["owner", "costCenter"]}
    assert [f.reason for f in policy_failures("job", job, policy)] == [
        ("policy requiredMetadataKeys: spec.metadata has no entry named 'costCenter'; this stack requires "
         "'owner', 'costCenter'")]
    assert policy_failures("task", {"id": "t", "commandLine": "x"}, policy) == []


def load_pack() -> Any:
    """The policy pack's module (policies/__main__.py), imported without serving."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "policies" / "__main__.py"
    spec = importlib.util.spec_from_file_location("batch_policy_pack", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_pack_has_one_policy_per_rule_and_reports_what_batch_policy_reports() -> None:
    from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, unknown_checking_proxy

    from providers.policy import RULE_LIST

    pack = load_pack()
    assert [p.name for p in pack.policies()] == [r.policy for r in RULE_LIST if r.policy]
    assert len(pack.policies()) == 6
    spec = violating("retries")
    spec["priority"] = 10.0  # as the engine hands numbers over
    spec["displayName"] = UNKNOWN_STRING_VALUE  # not known at preview
    props = pack.plain(unknown_checking_proxy({"spec": spec}))
    ((kind, prefix, body),) = pack.specs_of("pulumi-python:dynamic/batch:Job", props)
    assert (kind, prefix, body["priority"]) == ("job", "spec", 10)
    retry = next(r for r in RULE_LIST if r.policy == "retry-limit")
    from providers.policy import rule_violations

    assert [f"policy maxTaskRetryCountLimit: {m}" for m in rule_violations(retry, kind, body, 5)] == \
        [f.reason for f in policy_failures("job", violating("retries"), {"maxTaskRetryCountLimit": 5})]
    tasks = '[{"id": "a", "commandLine": "x", "constraints": {"maxTaskRetryCount": 9}}]'
    assert [(k, p) for k, p, _ in pack.specs_of("pulumi-python:dynamic/batch:TaskCollection", {"tasks": tasks})] \
        == [("task", "tasks[0]")]
    assert pack.stack_of("urn:pulumi:production::proj::pulumi-python:dynamic/batch:Job::job") == "production"


def test_a_collections_tasks_are_held_to_the_stack_policy_naming_each_task(stack_policy: dict[str, str]) -> None:
    from providers.collection import BatchTaskCollectionProvider, encode_tasks

    tasks = [{"id": "a", "commandLine": "/bin/true"},
             {"id": "b", "commandLine": "/bin/true", "constraints": {"maxTaskRetryCount": 2}, "userIdentity": ADMIN}]
    result = BatchTaskCollectionProvider().check({}, {"name": "c", "job_id": "j", "tasks": encode_tasks(tasks)})
    assert [f.reason for f in result.failures] == [
        ("policy forbidAdminElevation: tasks[1].userIdentity.autoUser.elevationLevel is admin; this stack does "
         "not allow admin tasks"),
        "policy maxTaskRetryCountLimit: tasks[1].constraints.maxTaskRetryCount is 2; this stack allows at most 1"]


def test_an_unchanged_collection_is_held_to_a_policy_set_after_it_was_applied(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from providers.collection import BatchTaskCollectionProvider, encode_tasks

    tasks = encode_tasks([{"id": "a", "commandLine": "/bin/true", "constraints": {"maxTaskRetryCount": 3}}])
    applied = {"name": "c", "job_id": "j", "tasks": tasks, "job_rules": None, "job_instance": None}
    monkeypatch.setattr(_base, "_stack_config", {})
    assert BatchTaskCollectionProvider().check(applied, dict(applied)).failures == []
    monkeypatch.setattr(_base, "_stack_config", {"batch:policy": '{"maxTaskRetryCountLimit": 1}'})
    result = BatchTaskCollectionProvider().check(applied, dict(applied))
    assert [f.reason for f in result.failures] == [
        "policy maxTaskRetryCountLimit: tasks[0].constraints.maxTaskRetryCount is 3; this stack allows at most 1"]


def test_a_bad_setting_is_said_once_for_a_whole_collection(monkeypatch: pytest.MonkeyPatch) -> None:
    from providers.collection import BatchTaskCollectionProvider, encode_tasks

    monkeypatch.setattr(_base, "_stack_config", {"batch:policy": '{"maxTaskRetryCountLimit": -2}'})
    tasks = [{"id": f"t{i}", "commandLine": "/bin/true"} for i in range(5)]
    result = BatchTaskCollectionProvider().check({}, {"name": "c", "job_id": "j", "tasks": encode_tasks(tasks)})
    assert [f.reason for f in result.failures] == [
        "policy maxTaskRetryCountLimit: the setting must be a non-negative integer"]
