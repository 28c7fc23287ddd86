"""Schema tables for pools (§3.3): BatchPoolSpecification, the pool create body and every child object.

Field lists and enum spellings follow BatchService.json 2025-06-01; limits come from its property
descriptions.
`certificateReferences`, `targetNodeCommunicationMode` and `resourceTags` are deliberately absent (§3.3 note).
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from batch_service.validation.core import (
    Field,
    ObjectSpec,
    as_int,
    choice,
    duration,
    flag,
    ident,
    integer,
    join,
    many,
    obj,
    present,
    reject,
    strmap,
    text,
)

CACHING = ("none", "readonly", "readwrite")
ELEVATION = ("nonadmin", "admin")
_NAT_POOL_NAME = r"[A-Za-z0-9]([A-Za-z0-9_.-]*[A-Za-z0-9_])?"
_PORT_RANGE = r"\*|\d{1,5}(-\d{1,5})?"
_POOL_APP_ID = re.compile(r"/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.Batch"
                          r"/batchAccounts/[^/]+/applications/[^/]+", re.IGNORECASE)
_FRONTEND_NOTE = "must be between 1 and 65534, excluding the reserved ports 50000 to 55000"
_NSG_RULES_PER_POOL = 25
_FRONTEND_RANGE_MIN_PORTS = 40


def _autoscale(pool: Mapping[str, Any], path: str) -> None:
    """enableAutoScale decides which sizing properties may appear (BatchPoolSpecification descriptions)."""
    if pool.get("enableAutoScale") is True:
        if not present(pool, "autoScaleFormula"):
            raise reject("MissingRequiredProperty", join(path, "autoScaleFormula"),
                         "required when enableAutoScale is true")
        for name in ("targetDedicatedNodes", "targetLowPriorityNodes"):
            if present(pool, name):
                raise reject("InvalidPropertyValue", join(path, name),
                             "must not be specified when enableAutoScale is true")
        return
    if present(pool, "autoScaleFormula"):
        raise reject("InvalidPropertyValue", join(path, "autoScaleFormula"),
                     "must not be specified unless enableAutoScale is true")
    if not present(pool, "targetDedicatedNodes") and not present(pool, "targetLowPriorityNodes"):
        raise reject("MissingRequiredProperty", join(path, "targetDedicatedNodes"),
                     "targetDedicatedNodes or targetLowPriorityNodes is required when enableAutoScale "
                     "is false")


def _os_upgrade_vs_windows_updates(pool: Mapping[str, Any], path: str) -> None:
    """Automatic OS upgrade and Windows automatic updates cannot both be on (AutomaticOsUpgradePolicy)."""
    os_upgrade = (pool.get("upgradePolicy") or {}).get("automaticOSUpgradePolicy") or {}
    windows = ((pool.get("virtualMachineConfiguration") or {}).get("windowsConfiguration") or {})
    if os_upgrade.get("enableAutomaticOSUpgrade") is True and windows.get("enableAutomaticUpdates") is True:
        raise reject("InvalidPropertyValue",
                     join(path, "virtualMachineConfiguration.windowsConfiguration.enableAutomaticUpdates"),
                     "cannot be true when upgradePolicy.automaticOSUpgradePolicy.enableAutomaticOSUpgrade "
                     "is true")


def _pool_application_ids(pool: Mapping[str, Any], path: str) -> None:
    """On pools an application package ID must be the fully qualified ARM ID (BatchPoolSpecification)."""
    for index, ref in enumerate(pool.get("applicationPackageReferences") or []):
        if not _POOL_APP_ID.fullmatch(ref["applicationId"]):
            item = f"{join(path, 'applicationPackageReferences')}[{index}]"
            raise reject("InvalidPropertyValue", join(item, "applicationId"),
                         "must be a fully qualified application ID (/subscriptions/.../applications/{name})")


def _nat_pool_ports(nat_pool: Mapping[str, Any], path: str) -> None:
    """A frontend range runs upwards and holds at least 40 ports (BatchInboundNatPool)."""
    start = as_int(nat_pool["frontendPortRangeStart"]) or 0
    end = as_int(nat_pool["frontendPortRangeEnd"]) or 0
    if end - start + 1 < _FRONTEND_RANGE_MIN_PORTS:
        raise reject("InvalidPropertyValue", join(path, "frontendPortRangeEnd"),
                     f"the frontend port range must contain at least {_FRONTEND_RANGE_MIN_PORTS} ports")


def _endpoint_limits(endpoints: Mapping[str, Any], path: str) -> None:
    """Pool-wide: distinct backend ports, disjoint frontend ranges, ≤ 25 NSG rules with unique priorities."""
    pools = endpoints["inboundNATPools"]
    backend_ports: set[int | None] = set()
    ranges: list[tuple[int, int]] = []
    priorities: set[int | None] = set()
    rule_count = 0
    for index, nat_pool in enumerate(pools):
        item = f"{join(path, 'inboundNATPools')}[{index}]"
        backend = as_int(nat_pool["backendPort"])
        if backend in backend_ports:
            raise reject("InvalidPropertyValue", join(item, "backendPort"), "must be unique within the pool")
        backend_ports.add(backend)
        start = as_int(nat_pool["frontendPortRangeStart"]) or 0
        end = as_int(nat_pool["frontendPortRangeEnd"]) or 0
        if any(start <= other_end and other_start <= end for other_start, other_end in ranges):
            raise reject("InvalidPropertyValue", join(item, "frontendPortRangeStart"),
                         "frontend port ranges within a pool must not overlap")
        ranges.append((start, end))
        for rule_index, rule in enumerate(nat_pool.get("networkSecurityGroupRules") or []):
            rule_count += 1
            if rule_count > _NSG_RULES_PER_POOL:
                raise reject("InvalidPropertyValue", join(item, "networkSecurityGroupRules"),
                             f"a pool may have at most {_NSG_RULES_PER_POOL} network security group rules")
            priority = as_int(rule["priority"])
            if priority in priorities:
                rule_path = f"{join(item, 'networkSecurityGroupRules')}[{rule_index}]"
                raise reject("InvalidPropertyValue", join(rule_path, "priority"),
                             "must be unique within the pool")
            priorities.add(priority)


def _endpoints_need_public_ips(network: Mapping[str, Any], path: str) -> None:
    """Inbound NAT pools cannot be used with nopublicipaddresses (BatchPoolEndpointConfiguration)."""
    provision = str((network.get("publicIPAddressConfiguration") or {}).get("provision") or "")
    if present(network, "endpointConfiguration") and provision.lower() == "nopublicipaddresses":
        raise reject("InvalidPropertyValue", join(path, "endpointConfiguration"),
                     "cannot be specified when publicIPAddressConfiguration.provision is nopublicipaddresses")


def _ip_address_ids(config: Mapping[str, Any], path: str) -> None:
    """User-managed public IPs are given by ipAddressIds, which no other provisioning type takes."""
    user_managed = str(config.get("provision") or "").lower() == "usermanaged"
    if user_managed and not config.get("ipAddressIds"):
        raise reject("MissingRequiredProperty", join(path, "ipAddressIds"),
                     "required when provision is usermanaged")
    if not user_managed and present(config, "ipAddressIds"):
        raise reject("InvalidPropertyValue", join(path, "ipAddressIds"),
                     "may only be specified when provision is usermanaged")


def _rolling_percentages(policy: Mapping[str, Any], path: str) -> None:
    """maxBatchInstancePercent must not exceed maxUnhealthyInstancePercent (RollingUpgradePolicy)."""
    batch = as_int(policy.get("maxBatchInstancePercent"))
    unhealthy = as_int(policy.get("maxUnhealthyInstancePercent"))
    if batch is not None and unhealthy is not None and batch > unhealthy:
        raise reject("InvalidPropertyValue", join(path, "maxBatchInstancePercent"),
                     "must not be greater than maxUnhealthyInstancePercent")


def _customer_key_needs_os_disk(config: Mapping[str, Any], path: str) -> None:
    """A customer-managed key encrypts the OS disk, so osdisk must be a target."""
    targets = [str(target).lower() for target in config.get("targets") or []]
    if present(config, "customerManagedKey") and "osdisk" not in targets:
        raise reject("InvalidPropertyValue", join(path, "targets"),
                     "must include osdisk when customerManagedKey is specified")


_IDENTITY = obj("BatchNodeIdentityReference")
_POOL_FIELDS: dict[str, Field] = {
    "displayName": text(max_len=1024),
    "vmSize": text(required=True),
    # Required in practice: cloudServiceConfiguration is gone, so a pool cannot exist without it (§3.3).
    "virtualMachineConfiguration": obj("VirtualMachineConfiguration", required=True),
    "taskSlotsPerNode": integer(low=1, high=256),
    "taskSchedulingPolicy": obj("BatchTaskSchedulingPolicy"),
    "resizeTimeout": duration(shortest=timedelta(minutes=5), note="must be at least 5 minutes"),
    "targetDedicatedNodes": integer(low=0),
    "targetLowPriorityNodes": integer(low=0),
    "enableAutoScale": flag(),
    "autoScaleFormula": text(),
    "autoScaleEvaluationInterval": duration(shortest=timedelta(minutes=5), longest=timedelta(hours=168),
                                            note="must be between 5 minutes and 168 hours"),
    "enableInterNodeCommunication": flag(),
    "networkConfiguration": obj("NetworkConfiguration"),
    "startTask": obj("BatchStartTask"),
    "applicationPackageReferences": many(obj("BatchApplicationPackageReference"), max_len=10),
    "userAccounts": many(obj("UserAccount"), unique="name"),
    "metadata": many(obj("BatchMetadataItem"), unique="name"),
    "mountConfiguration": many(obj("MountConfiguration")),
    "upgradePolicy": obj("UpgradePolicy"),
}
_POOL_RULES = (_autoscale, _os_upgrade_vs_windows_updates, _pool_application_ids)

POOL_TABLES: dict[str, ObjectSpec] = {
    "BatchPoolCreateOptions": ObjectSpec({"id": ident(), **_POOL_FIELDS}, rules=_POOL_RULES),
    "BatchPoolSpecification": ObjectSpec(_POOL_FIELDS, rules=_POOL_RULES),
    "VirtualMachineConfiguration": ObjectSpec({
        "imageReference": obj("BatchVmImageReference", required=True),
        "nodeAgentSKUId": text(required=True),
        "windowsConfiguration": obj("WindowsConfiguration"),
        "dataDisks": many(obj("DataDisk")),
        "licenseType": choice(("Windows_Server", "Windows_Client")),
        "containerConfiguration": obj("BatchContainerConfiguration"),
        "diskEncryptionConfiguration": obj("DiskEncryptionConfiguration"),
        "nodePlacementConfiguration": obj("BatchNodePlacementConfiguration"),
        "extensions": many(obj("VMExtension"), unique="name"),
        "osDisk": obj("BatchOsDisk"),
        "securityProfile": obj("SecurityProfile"),
        "serviceArtifactReference": obj("ServiceArtifactReference"),
    }),
    "BatchVmImageReference": ObjectSpec(
        {"publisher": text(), "offer": text(), "sku": text(), "version": text(),
         "virtualMachineImageId": text(),
         "exactVersion": text(),  # read-only, tolerated on input so a read-back spec can be resent
         "sharedGalleryImageId": text(), "communityGalleryImageId": text()},
        # A marketplace image (publisher+offer+sku) or exactly one gallery image ID (BatchVmImageReference).
        exactly_one=(("publisher", "virtualMachineImageId", "sharedGalleryImageId",
                      "communityGalleryImageId"),),
        requires=(("publisher", "offer"), ("publisher", "sku"), ("offer", "publisher"), ("sku", "publisher")),
        excludes=(("virtualMachineImageId", "version"), ("sharedGalleryImageId", "version"),
                  ("communityGalleryImageId", "version"))),
    "WindowsConfiguration": ObjectSpec({"enableAutomaticUpdates": flag()}),
    "DataDisk": ObjectSpec({
        "lun": integer(required=True, low=0, high=63),
        "caching": choice(CACHING),
        "diskSizeGB": integer(required=True, low=1),
        "managedDisk": obj("ManagedDisk"),
    }),
    "ManagedDisk": ObjectSpec({
        "diskEncryptionSet": obj("DiskEncryptionSetParameters"),
        "storageAccountType": choice(("standard_lrs", "premium_lrs", "standardssd_lrs")),
        "securityProfile": obj("BatchVmDiskSecurityProfile"),
    }),
    "DiskEncryptionSetParameters": ObjectSpec({"id": text()}),
    "BatchVmDiskSecurityProfile": ObjectSpec({
        "securityEncryptionType": choice(("DiskWithVMGuestState", "NonPersistedTPM", "VMGuestStateOnly")),
    }),
    "BatchContainerConfiguration": ObjectSpec({
        "type": choice(("dockerCompatible", "criCompatible"), required=True),
        "containerImageNames": many(text(required=True)),
        "containerRegistries": many(obj("ContainerRegistryReference")),
    }),
    "DiskEncryptionConfiguration": ObjectSpec({
        "customerManagedKey": obj("DiskCustomerManagedKey"),
        "targets": many(choice(("osdisk", "temporarydisk"))),
    }, rules=(_customer_key_needs_os_disk,)),
    "DiskCustomerManagedKey": ObjectSpec({
        "identityReference": obj("BatchPoolIdentityReference"),
        "keyUrl": text(),
        "rotationToLatestKeyVersionEnabled": flag(),
    }),
    "BatchPoolIdentityReference": ObjectSpec({"resourceId": text()}),
    "BatchNodePlacementConfiguration": ObjectSpec({"policy": choice(("regional", "zonal"))}),
    "VMExtension": ObjectSpec({
        "name": text(required=True),
        "publisher": text(required=True),
        "type": text(required=True),
        "typeHandlerVersion": text(),
        "autoUpgradeMinorVersion": flag(),
        "enableAutomaticUpgrade": flag(),
        "settings": strmap(),
        "protectedSettings": strmap(),
        "provisionAfterExtensions": many(text(required=True)),
    }),
    "BatchOsDisk": ObjectSpec({
        "ephemeralOSDiskSettings": obj("BatchDiffDiskSettings"),
        "caching": choice(CACHING),
        "diskSizeGB": integer(low=1),
        "managedDisk": obj("ManagedDisk"),
        "writeAcceleratorEnabled": flag(),
    }),
    "BatchDiffDiskSettings": ObjectSpec({"placement": choice(("cachedisk",))}),
    "SecurityProfile": ObjectSpec({
        "encryptionAtHost": flag(),
        "proxyAgentSettings": obj("ProxyAgentSettings"),
        "securityType": choice(("trustedLaunch", "confidentialvm")),
        "uefiSettings": obj("BatchUefiSettings"),
    # securityType "has to be set to any specified value to enable UefiSettings".
    }, requires=(("uefiSettings", "securityType"),)),
    "ProxyAgentSettings": ObjectSpec({
        "enabled": flag(),
        "imds": obj("HostEndpointSettings"),
        "wireServer": obj("HostEndpointSettings"),
    }),
    "HostEndpointSettings": ObjectSpec({
        "inVMAccessControlProfileReferenceId": text(),
        "mode": choice(("Audit", "Enforce")),
    }),
    "BatchUefiSettings": ObjectSpec({"secureBootEnabled": flag(), "vTpmEnabled": flag()}),
    "ServiceArtifactReference": ObjectSpec({"id": text(required=True)}),
    "BatchTaskSchedulingPolicy": ObjectSpec({
        "jobDefaultOrder": choice(("none", "creationtime")),
        "nodeFillType": choice(("spread", "pack"), required=True),
    }),
    "NetworkConfiguration": ObjectSpec({
        "subnetId": text(),
        "dynamicVNetAssignmentScope": choice(("none", "job")),
        "endpointConfiguration": obj("BatchPoolEndpointConfiguration"),
        "publicIPAddressConfiguration": obj("BatchPublicIpAddressConfiguration"),
        "enableAcceleratedNetworking": flag(),
    }, rules=(_endpoints_need_public_ips,)),
    "BatchPoolEndpointConfiguration": ObjectSpec({
        "inboundNATPools": many(obj("BatchInboundNatPool"), required=True, max_len=5, unique="name"),
    }, rules=(_endpoint_limits,)),
    "BatchInboundNatPool": ObjectSpec({
        "name": text(required=True, max_len=77, pattern=_NAT_POOL_NAME,
                     note="must start with a letter or digit, end with a letter, digit or underscore, "
                          "and contain only letters, digits, underscores, periods and hyphens"),
        "protocol": choice(("tcp", "udp"), required=True),
        "backendPort": integer(required=True, low=1, high=65535, reserved=((29876, 29877),),
                               note="must be between 1 and 65535, excluding the reserved ports 29876 "
                                    "and 29877"),
        "frontendPortRangeStart": integer(required=True, low=1, high=65534, reserved=((50000, 55000),),
                                          note=_FRONTEND_NOTE),
        "frontendPortRangeEnd": integer(required=True, low=1, high=65534, reserved=((50000, 55000),),
                                        note=_FRONTEND_NOTE),
        "networkSecurityGroupRules": many(obj("NetworkSecurityGroupRule")),
    }, rules=(_nat_pool_ports,)),
    "NetworkSecurityGroupRule": ObjectSpec({
        "priority": integer(required=True, low=150, high=4096),
        "access": choice(("allow", "deny"), required=True),
        "sourceAddressPrefix": text(required=True),
        "sourcePortRanges": many(text(required=True, pattern=_PORT_RANGE,
                                      note="must be '*', a port or a port range like 100-200")),
    }),
    "BatchPublicIpAddressConfiguration": ObjectSpec({
        "provision": choice(("batchmanaged", "usermanaged", "nopublicipaddresses")),
        "ipFamilies": many(choice(("IPv4", "IPv6"))),
        "ipAddressIds": many(text(required=True)),
        "ipTags": many(obj("IPTag")),
    }, rules=(_ip_address_ids,)),
    "IPTag": ObjectSpec({"ipTagType": text(), "tag": text()}),
    "BatchStartTask": ObjectSpec({
        "commandLine": text(required=True),
        "containerSettings": obj("BatchTaskContainerSettings"),
        "resourceFiles": many(obj("ResourceFile")),
        "environmentSettings": many(obj("EnvironmentSetting"), unique="name"),
        "userIdentity": obj("UserIdentity"),
        "maxTaskRetryCount": integer(low=-1),
        "waitForSuccess": flag(),
    }),
    "UserAccount": ObjectSpec({
        "name": text(required=True, max_len=20),
        "password": text(required=True),
        "elevationLevel": choice(ELEVATION),
        "linuxUserConfiguration": obj("LinuxUserConfiguration"),
        "windowsUserConfiguration": obj("WindowsUserConfiguration"),
    }),
    "LinuxUserConfiguration": ObjectSpec(
        {"uid": integer(low=0), "gid": integer(low=0), "sshPrivateKey": text()},
        requires=(("uid", "gid"), ("gid", "uid"))),  # "must be specified together or not at all"
    "WindowsUserConfiguration": ObjectSpec({"loginMode": choice(("batch", "interactive"))}),
    "MountConfiguration": ObjectSpec({
        "azureBlobFileSystemConfiguration": obj("AzureBlobFileSystemConfiguration"),
        "nfsMountConfiguration": obj("NfsMountConfiguration"),
        "cifsMountConfiguration": obj("CifsMountConfiguration"),
        "azureFileShareConfiguration": obj("AzureFileShareConfiguration"),
    }, exactly_one=(("azureBlobFileSystemConfiguration", "nfsMountConfiguration", "cifsMountConfiguration",
                     "azureFileShareConfiguration"),)),
    "AzureBlobFileSystemConfiguration": ObjectSpec({
        "accountName": text(required=True),
        "containerName": text(required=True),
        "accountKey": text(),
        "sasKey": text(),
        "blobfuseOptions": text(),
        "relativeMountPath": text(required=True),
        "identityReference": _IDENTITY,
    }, exactly_one=(("accountKey", "sasKey", "identityReference"),)),
    "NfsMountConfiguration": ObjectSpec({
        "source": text(required=True),
        "relativeMountPath": text(required=True),
        "mountOptions": text(),
    }),
    "CifsMountConfiguration": ObjectSpec({
        "username": text(required=True),
        "source": text(required=True),
        "relativeMountPath": text(required=True),
        "mountOptions": text(),
        "password": text(required=True),
    }),
    "AzureFileShareConfiguration": ObjectSpec({
        "accountName": text(required=True),
        "accountKey": text(required=True),
        "azureFileUrl": text(required=True),
        "relativeMountPath": text(required=True),
        "mountOptions": text(),
    }),
    "UpgradePolicy": ObjectSpec({
        "mode": choice(("automatic", "manual", "rolling"), required=True),
        "automaticOSUpgradePolicy": obj("AutomaticOsUpgradePolicy"),
        "rollingUpgradePolicy": obj("RollingUpgradePolicy"),
    }),
    "AutomaticOsUpgradePolicy": ObjectSpec({
        "disableAutomaticRollback": flag(),
        "enableAutomaticOSUpgrade": flag(),
        "useRollingUpgradePolicy": flag(),
        "osRollingUpgradeDeferral": flag(),
    }),
    "RollingUpgradePolicy": ObjectSpec({
        "enableCrossZoneUpgrade": flag(),
        "maxBatchInstancePercent": integer(low=5, high=100),
        "maxUnhealthyInstancePercent": integer(low=5, high=100),
        "maxUnhealthyUpgradedInstancePercent": integer(low=0, high=100),
        "pauseTimeBetweenBatches": duration(),
        "prioritizeUnhealthyInstances": flag(),
        "rollbackFailedInstancesOnPolicyBreach": flag(),
    }, rules=(_rolling_percentages,)),
}
