"""Validation of the pool specification (§3.3) in pool create bodies and in auto-pool specifications."""
from __future__ import annotations

import copy
from typing import Any

import pytest

from batch_service.validation.bodies import validate_job_create, validate_pool_create
from tests.support.validation_bodies import accepted, assert_rejected

APP_ID = "/subscriptions/s/resourceGroups/g/providers/Microsoft.Batch/batchAccounts/a/applications/app"


def full_pool() -> dict[str, Any]:
    """A pool create body that sets every object of the 2025-06-01 pool specification at least once."""
    return {
        "id": "everything", "displayName": "all fields", "vmSize": "standard_d4s_v5",
        "virtualMachineConfiguration": {
            "imageReference": {"publisher": "MicrosoftWindowsServer", "offer": "WindowsServer",
                               "sku": "2022-datacenter", "version": "latest"},
            "nodeAgentSKUId": "batch.node.windows amd64",
            "windowsConfiguration": {"enableAutomaticUpdates": False},
            "dataDisks": [{"lun": 0, "caching": "ReadOnly", "diskSizeGB": 128,
                           "managedDisk": {"storageAccountType": "premium_lrs",
                                           "diskEncryptionSet": {"id": "/des"},
                                           "securityProfile": {
                                               "securityEncryptionType": "VMGuestStateOnly"}}}],
            "licenseType": "Windows_Server",
            "containerConfiguration": {"type": "dockerCompatible", "containerImageNames": ["busybox"],
                                       "containerRegistries": [{"registryServer": "r.io", "username": "u",
                                                                "password": "p"},
                                                               {"identityReference": {"resourceId": "/id"}}]},
            "diskEncryptionConfiguration": {"customerManagedKey": {"identityReference": {"resourceId": "/id"},
                                                                   "keyUrl": "https://kv/keys/k/1",
                                                                   "rotationToLatestKeyVersionEnabled": True},
                                            "targets": ["osdisk", "temporarydisk"]},
            "nodePlacementConfiguration": {"policy": "zonal"},
            "extensions": [{"name": "ext", "publisher": "Microsoft.Azure", "type": "CustomScript",
                            "typeHandlerVersion": "2.1", "autoUpgradeMinorVersion": True,
                            "enableAutomaticUpgrade": False, "settings": {"commandToExecute": "echo"},
                            "protectedSettings": {"storageAccountKey": "k"}, "provisionAfterExtensions": []}],
            "osDisk": {"ephemeralOSDiskSettings": {"placement": "cachedisk"}, "caching": "none",
                       "diskSizeGB": 64, "managedDisk": {"storageAccountType": "standardssd_lrs"},
                       "writeAcceleratorEnabled": False},
            "securityProfile": {"encryptionAtHost": True, "securityType": "trustedLaunch",
                                "uefiSettings": {"secureBootEnabled": True, "vTpmEnabled": True},
                                "proxyAgentSettings": {
                                    "enabled": True, "imds": {"mode": "Audit"},
                                    "wireServer": {"mode": "Enforce",
                                                   "inVMAccessControlProfileReferenceId": "/p"}}},
            "serviceArtifactReference": {"id": "/artifact"},
        },
        "taskSlotsPerNode": 256,
        "taskSchedulingPolicy": {"nodeFillType": "pack", "jobDefaultOrder": "creationtime"},
        "resizeTimeout": "PT5M", "targetDedicatedNodes": 2, "targetLowPriorityNodes": 0,
        "enableAutoScale": False,
        "enableInterNodeCommunication": True,
        "networkConfiguration": {
            "subnetId": "/subnet", "dynamicVNetAssignmentScope": "job", "enableAcceleratedNetworking": True,
            "endpointConfiguration": {"inboundNATPools": [
                {"name": "ssh_1", "protocol": "tcp", "backendPort": 22, "frontendPortRangeStart": 1000,
                 "frontendPortRangeEnd": 1039,
                 "networkSecurityGroupRules": [{"priority": 150, "access": "allow",
                                                "sourceAddressPrefix": "*",
                                                "sourcePortRanges": ["*", "22", "100-200"]}]},
                {"name": "rdp", "protocol": "udp", "backendPort": 3389, "frontendPortRangeStart": 2000,
                 "frontendPortRangeEnd": 2100}]},
            "publicIPAddressConfiguration": {"provision": "usermanaged", "ipAddressIds": ["/ip1"],
                                             "ipFamilies": ["IPv4", "IPv6"],
                                             "ipTags": [{"ipTagType": "FirstPartyUsage", "tag": "x"}]},
        },
        "startTask": {"commandLine": "cmd /c setup", "maxTaskRetryCount": -1, "waitForSuccess": True,
                      "resourceFiles": [{"httpUrl": "https://a/setup.exe", "filePath": "setup.exe"}],
                      "environmentSettings": [{"name": "A", "value": "1"}],
                      "containerSettings": {"imageName": "busybox"},
                      "userIdentity": {"autoUser": {"scope": "pool", "elevationLevel": "admin"}}},
        "applicationPackageReferences": [{"applicationId": APP_ID, "version": "1.0"}],
        "userAccounts": [{"name": "worker", "password": "pw", "elevationLevel": "nonadmin",
                          "linuxUserConfiguration": {"uid": 1000, "gid": 1000, "sshPrivateKey": "k"},
                          "windowsUserConfiguration": {"loginMode": "batch"}}],
        "metadata": [{"name": "team", "value": "render"}],
        "mountConfiguration": [
            {"azureBlobFileSystemConfiguration": {"accountName": "a", "containerName": "c", "sasKey": "s",
                                                  "relativeMountPath": "blob", "blobfuseOptions": "-o ro"}},
            {"nfsMountConfiguration": {"source": "10.0.0.4:/x", "relativeMountPath": "nfs",
                                       "mountOptions": "ro"}},
            {"cifsMountConfiguration": {"username": "u", "password": "p", "source": "//h/s",
                                        "relativeMountPath": "cifs"}},
            {"azureFileShareConfiguration": {"accountName": "a", "accountKey": "k",
                                             "relativeMountPath": "afs",
                                             "azureFileUrl": "https://a.file.core.windows.net/s"}}],
        "upgradePolicy": {"mode": "rolling",
                          "automaticOSUpgradePolicy": {"enableAutomaticOSUpgrade": True,
                                                       "disableAutomaticRollback": False,
                                                       "useRollingUpgradePolicy": True,
                                                       "osRollingUpgradeDeferral": True},
                          "rollingUpgradePolicy": {"enableCrossZoneUpgrade": True,
                                                   "maxBatchInstancePercent": 20,
                                                   "maxUnhealthyInstancePercent": 20,
                                                   "maxUnhealthyUpgradedInstancePercent": 0,
                                                   "pauseTimeBetweenBatches": "PT0S",
                                                   "prioritizeUnhealthyInstances": True,
                                                   "rollbackFailedInstancesOnPolicyBreach": False}},
    }


def changed(path: str, value: Any) -> dict[str, Any]:
    """full_pool() with the dotted path (list indices as numbers) set to value; None removes it."""
    body = full_pool()
    *parents, last = path.split(".")
    node: Any = body
    for part in parents:
        node = node[int(part)] if part.isdigit() else node[part]
    if value is None:
        del node[int(last) if last.isdigit() else last]
    elif last.isdigit():
        node[int(last)] = value
    else:
        node[last] = value
    return body


def test_a_pool_using_every_specification_object_is_valid() -> None:
    accepted(validate_pool_create, full_pool())


def test_the_same_specification_is_valid_as_an_auto_pool() -> None:
    spec = {k: v for k, v in full_pool().items() if k != "id"}
    accepted(validate_job_create, {"id": "j", "poolInfo": {"autoPoolSpecification": {
        "autoPoolIdPrefix": "render", "poolLifetimeOption": "job", "keepAlive": True, "pool": spec}}})


def test_an_auto_pool_spec_reports_nested_problems_with_the_full_path() -> None:
    spec = {k: v for k, v in full_pool().items() if k != "id"}
    spec["taskSlotsPerNode"] = 0
    body = {"id": "j", "poolInfo": {"autoPoolSpecification": {"poolLifetimeOption": "job", "pool": spec}}}
    assert_rejected(validate_job_create, (body,), "InvalidPropertyValue",
                    "poolInfo.autoPoolSpecification.pool.taskSlotsPerNode")


VM = "virtualMachineConfiguration"
NAT = "networkConfiguration.endpointConfiguration.inboundNATPools"
IMAGE = f"{VM}.imageReference"


@pytest.mark.parametrize(("path", "value", "code", "property_name"), [
    ("taskSlotsPerNode", 257, "InvalidPropertyValue", "taskSlotsPerNode"),
    ("resizeTimeout", "PT4M59S", "InvalidPropertyValue", "resizeTimeout"),
    ("targetDedicatedNodes", -1, "InvalidPropertyValue", "targetDedicatedNodes"),
    ("autoScaleFormula", "$x=1", "InvalidPropertyValue", "autoScaleFormula"),
    ("taskSchedulingPolicy", {"jobDefaultOrder": "none"}, "MissingRequiredProperty",
     "taskSchedulingPolicy.nodeFillType"),
    (f"{IMAGE}.virtualMachineImageId", "/gallery/image", "InvalidPropertyValue",
     f"{IMAGE}.virtualMachineImageId"),
    (IMAGE, {"offer": "o", "sku": "s"}, "MissingRequiredProperty", f"{IMAGE}.publisher"),
    (IMAGE, {"publisher": "p", "sku": "s"}, "MissingRequiredProperty", f"{IMAGE}.offer"),
    (IMAGE, {"sharedGalleryImageId": "/s", "version": "1"}, "InvalidPropertyValue", f"{IMAGE}.version"),
    (f"{VM}.nodeAgentSKUId", None, "MissingRequiredProperty", f"{VM}.nodeAgentSKUId"),
    (f"{VM}.licenseType", "Linux", "InvalidPropertyValue", f"{VM}.licenseType"),
    (f"{VM}.dataDisks.0.lun", 64, "InvalidPropertyValue", f"{VM}.dataDisks[0].lun"),
    (f"{VM}.dataDisks.0.managedDisk.storageAccountType", "ultra", "InvalidPropertyValue",
     f"{VM}.dataDisks[0].managedDisk.storageAccountType"),
    (f"{VM}.containerConfiguration.type", None, "MissingRequiredProperty",
     f"{VM}.containerConfiguration.type"),
    (f"{VM}.containerConfiguration.containerRegistries.0.identityReference", {"resourceId": "/i"},
     "InvalidPropertyValue", f"{VM}.containerConfiguration.containerRegistries[0].identityReference"),
    (f"{VM}.diskEncryptionConfiguration.targets", ["temporarydisk"], "InvalidPropertyValue",
     f"{VM}.diskEncryptionConfiguration.targets"),
    (f"{VM}.extensions.0.type", None, "MissingRequiredProperty", f"{VM}.extensions[0].type"),
    (f"{VM}.osDisk.ephemeralOSDiskSettings.placement", "resourcedisk", "InvalidPropertyValue",
     f"{VM}.osDisk.ephemeralOSDiskSettings.placement"),
    (f"{VM}.securityProfile.securityType", None, "MissingRequiredProperty",
     f"{VM}.securityProfile.securityType"),
    (f"{VM}.securityProfile.proxyAgentSettings.imds.mode", "Block", "InvalidPropertyValue",
     f"{VM}.securityProfile.proxyAgentSettings.imds.mode"),
    (f"{VM}.serviceArtifactReference", {}, "MissingRequiredProperty", f"{VM}.serviceArtifactReference.id"),
    (f"{VM}.windowsConfiguration.enableAutomaticUpdates", True, "InvalidPropertyValue",
     f"{VM}.windowsConfiguration.enableAutomaticUpdates"),
    (f"{NAT}.0.backendPort", 29876, "InvalidPropertyValue", f"{NAT}[0].backendPort"),
    (f"{NAT}.0.frontendPortRangeStart", 50010, "InvalidPropertyValue", f"{NAT}[0].frontendPortRangeStart"),
    (f"{NAT}.0.frontendPortRangeEnd", 1038, "InvalidPropertyValue", f"{NAT}[0].frontendPortRangeEnd"),
    (f"{NAT}.1.frontendPortRangeStart", 1020, "InvalidPropertyValue", f"{NAT}[1].frontendPortRangeStart"),
    (f"{NAT}.1.backendPort", 22, "InvalidPropertyValue", f"{NAT}[1].backendPort"),
    (f"{NAT}.1.name", "ssh_1", "InvalidPropertyValue", f"{NAT}[1].name"),
    (f"{NAT}.0.name", "-bad", "InvalidPropertyValue", f"{NAT}[0].name"),
    (f"{NAT}.0.networkSecurityGroupRules.0.priority", 149, "InvalidPropertyValue",
     f"{NAT}[0].networkSecurityGroupRules[0].priority"),
    (f"{NAT}.0.networkSecurityGroupRules.0.sourcePortRanges", ["22-"], "InvalidPropertyValue",
     f"{NAT}[0].networkSecurityGroupRules[0].sourcePortRanges[0]"),
    ("networkConfiguration.publicIPAddressConfiguration.ipAddressIds", None, "MissingRequiredProperty",
     "networkConfiguration.publicIPAddressConfiguration.ipAddressIds"),
    ("networkConfiguration.publicIPAddressConfiguration.provision", "nopublicipaddresses",
     "InvalidPropertyValue", "networkConfiguration.publicIPAddressConfiguration.ipAddressIds"),
    ("networkConfiguration.publicIPAddressConfiguration.ipFamilies", ["IPv5"], "InvalidPropertyValue",
     "networkConfiguration.publicIPAddressConfiguration.ipFamilies[0]"),
    ("startTask.commandLine", None, "MissingRequiredProperty", "startTask.commandLine"),
    ("startTask.maxTaskRetryCount", -2, "InvalidPropertyValue", "startTask.maxTaskRetryCount"),
    ("applicationPackageReferences", [{"applicationId": "app"}], "InvalidPropertyValue",
     "applicationPackageReferences[0].applicationId"),
    ("applicationPackageReferences", [{"applicationId": APP_ID}] * 11, "InvalidPropertyValue",
     "applicationPackageReferences"),
    ("userAccounts.0.linuxUserConfiguration", {"uid": 1000}, "MissingRequiredProperty",
     "userAccounts[0].linuxUserConfiguration.gid"),
    ("userAccounts.0.password", None, "MissingRequiredProperty", "userAccounts[0].password"),
    ("userAccounts.0.windowsUserConfiguration.loginMode", "remote", "InvalidPropertyValue",
     "userAccounts[0].windowsUserConfiguration.loginMode"),
    ("mountConfiguration.0.nfsMountConfiguration", {"source": "s", "relativeMountPath": "r"},
     "InvalidPropertyValue", "mountConfiguration[0].nfsMountConfiguration"),
    ("mountConfiguration.1", {}, "MissingRequiredProperty",
     "mountConfiguration[1].azureBlobFileSystemConfiguration"),
    ("mountConfiguration.0.azureBlobFileSystemConfiguration.sasKey", None, "MissingRequiredProperty",
     "mountConfiguration[0].azureBlobFileSystemConfiguration.accountKey"),
    ("mountConfiguration.2.cifsMountConfiguration.password", None, "MissingRequiredProperty",
     "mountConfiguration[2].cifsMountConfiguration.password"),
    ("mountConfiguration.3.azureFileShareConfiguration.azureFileUrl", None, "MissingRequiredProperty",
     "mountConfiguration[3].azureFileShareConfiguration.azureFileUrl"),
    ("upgradePolicy.mode", "sometimes", "InvalidPropertyValue", "upgradePolicy.mode"),
    ("upgradePolicy.rollingUpgradePolicy.maxBatchInstancePercent", 30, "InvalidPropertyValue",
     "upgradePolicy.rollingUpgradePolicy.maxBatchInstancePercent"),
    ("upgradePolicy.rollingUpgradePolicy.maxUnhealthyInstancePercent", 4, "InvalidPropertyValue",
     "upgradePolicy.rollingUpgradePolicy.maxUnhealthyInstancePercent"),
    ("upgradePolicy.rollingUpgradePolicy.pauseTimeBetweenBatches", "5 minutes", "InvalidPropertyValue",
     "upgradePolicy.rollingUpgradePolicy.pauseTimeBetweenBatches"),
    ("certificateReferences", [], "InvalidRequestBody", "certificateReferences"),
    ("targetNodeCommunicationMode", "simplified", "InvalidRequestBody", "targetNodeCommunicationMode"),
])
def test_each_pool_rule_rejects_with_the_property_path(path: str, value: Any, code: str,
                                                       property_name: str) -> None:
    assert_rejected(validate_pool_create, (changed(path, value),), code, property_name)


@pytest.mark.parametrize("interval", ["PT4M59S", "PT168H1S"])
def test_the_autoscale_interval_lies_between_5_minutes_and_168_hours(interval: str) -> None:
    body = full_pool()
    del body["targetDedicatedNodes"], body["targetLowPriorityNodes"]
    body.update(enableAutoScale=True, autoScaleFormula="$TargetDedicatedNodes=1",
                autoScaleEvaluationInterval=interval)
    assert_rejected(validate_pool_create, (body,), "InvalidPropertyValue", "autoScaleEvaluationInterval")
    validate_pool_create({**body, "autoScaleEvaluationInterval": "PT168H"})


def test_a_pool_without_node_counts_is_accepted_as_the_real_service_does() -> None:
    body = full_pool()
    del body["targetDedicatedNodes"], body["targetLowPriorityNodes"]
    validate_pool_create(body)  # the real service answered 201 and reported 0 and 0 (tests/fixtures/real)


def test_more_than_25_security_rules_across_a_pool_are_rejected() -> None:
    body = full_pool()
    nat_pools = body["networkConfiguration"]["endpointConfiguration"]["inboundNATPools"]
    rule = {"access": "deny", "sourceAddressPrefix": "10.0.0.0/8"}
    nat_pools[0]["networkSecurityGroupRules"] = [dict(rule, priority=200 + i) for i in range(13)]
    nat_pools[1]["networkSecurityGroupRules"] = [dict(rule, priority=300 + i) for i in range(13)]
    assert_rejected(validate_pool_create, (copy.deepcopy(body),), "InvalidPropertyValue",
                    f"{NAT}[1].networkSecurityGroupRules")
    nat_pools[1]["networkSecurityGroupRules"] = nat_pools[1]["networkSecurityGroupRules"][:12]
    validate_pool_create(body)


def test_inbound_nat_pools_cannot_be_used_without_public_ips() -> None:
    body = changed("networkConfiguration.publicIPAddressConfiguration", {"provision": "NoPublicIPAddresses"})
    assert_rejected(validate_pool_create, (body,), "InvalidPropertyValue",
                    "networkConfiguration.endpointConfiguration")
