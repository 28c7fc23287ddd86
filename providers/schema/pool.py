"""Schema tables for a job's pool: BatchPoolInfo, the auto-pool and the pool specification (reference 3.2-3.3)."""
from __future__ import annotations

from providers.schema.model import (
    PATCH,
    PATCH_WHEN_DISABLED,
    REPLACE,
    ObjectType,
    OneOf,
    array,
    boolean,
    duration,
    enum,
    ident,
    integer,
    mapping,
    obj,
    string,
)
from providers.schema.tasks import (
    APPLICATION_PACKAGE,
    CONTAINER_REGISTRY,
    CONTAINER_SETTINGS,
    ELEVATION,
    ENVIRONMENT_SETTING,
    IDENTITY_REFERENCE,
    METADATA_ITEM,
    RESOURCE_FILE,
    USER_IDENTITY,
)

CACHING = ("none", "readonly", "readwrite")

IMAGE_REFERENCE = ObjectType("BatchVmImageReference", (
    string("publisher"),
    string("offer"),
    string("sku"),
    string("version", default="latest"),
    string("virtualMachineImageId"),
    string("exactVersion", read_only=True),
    string("sharedGalleryImageId"),
    string("communityGalleryImageId"),
), one_of=(OneOf(("publisher", "virtualMachineImageId", "sharedGalleryImageId", "communityGalleryImageId")),),
    checks=("marketplace-image",))

MANAGED_DISK = ObjectType("ManagedDisk", (
    enum("storageAccountType", ("standard_lrs", "premium_lrs", "standardssd_lrs")),
    obj("diskEncryptionSet", ObjectType("DiskEncryptionSetParameters", (string("id"),))),
    obj("securityProfile", ObjectType("BatchVmDiskSecurityProfile", (
        enum("securityEncryptionType", ("DiskWithVMGuestState", "NonPersistedTPM", "VMGuestStateOnly")),
    ))),
))

DATA_DISK = ObjectType("DataDisk", (
    integer("lun", required=True, range=(0, None)),
    enum("caching", CACHING),
    integer("diskSizeGB", required=True, range=(1, None)),
    obj("managedDisk", MANAGED_DISK),
))

HOST_ENDPOINT = ObjectType("HostEndpointSettings", (
    string("inVMAccessControlProfileReferenceId"),
    enum("mode", ("Audit", "Enforce")),
))

SECURITY_PROFILE = ObjectType("SecurityProfile", (
    boolean("encryptionAtHost"),
    obj("proxyAgentSettings", ObjectType("ProxyAgentSettings", (
        boolean("enabled"),
        obj("imds", HOST_ENDPOINT),
        obj("wireServer", HOST_ENDPOINT),
    ))),
    enum("securityType", ("trustedLaunch", "confidentialvm")),
    obj("uefiSettings", ObjectType("BatchUefiSettings", (boolean("secureBootEnabled"), boolean("vTpmEnabled")))),
))

VM_EXTENSION = ObjectType("VMExtension", (
    string("name", required=True, length=(1, None)),
    string("publisher", required=True, length=(1, None)),
    string("type", required=True, length=(1, None)),
    string("typeHandlerVersion"),
    boolean("autoUpgradeMinorVersion"),
    boolean("enableAutomaticUpgrade"),
    mapping("settings"),
    mapping("protectedSettings", secret=True, write_only=True),
    array("provisionAfterExtensions", "str"),
))

VIRTUAL_MACHINE_CONFIGURATION = ObjectType("VirtualMachineConfiguration", (
    obj("imageReference", IMAGE_REFERENCE, required=True),
    string("nodeAgentSKUId", required=True, length=(1, None)),
    obj("windowsConfiguration", ObjectType("WindowsConfiguration", (boolean("enableAutomaticUpdates"),))),
    array("dataDisks", DATA_DISK),
    enum("licenseType", ("Windows_Server", "Windows_Client")),
    obj("containerConfiguration", ObjectType("BatchContainerConfiguration", (
        enum("type", ("dockerCompatible", "criCompatible"), required=True),
        array("containerImageNames", "str"),
        array("containerRegistries", CONTAINER_REGISTRY),
    ))),
    obj("diskEncryptionConfiguration", ObjectType("DiskEncryptionConfiguration", (
        obj("customerManagedKey", ObjectType("DiskCustomerManagedKey", (
            obj("identityReference", IDENTITY_REFERENCE),
            string("keyUrl"),
            boolean("rotationToLatestKeyVersionEnabled"),
        ))),
        array("targets", "enum", enum=("osdisk", "temporarydisk")),
    ))),
    obj("nodePlacementConfiguration", ObjectType("BatchNodePlacementConfiguration", (
        enum("policy", ("regional", "zonal")),
    ))),
    array("extensions", VM_EXTENSION),
    obj("osDisk", ObjectType("BatchOsDisk", (
        obj("ephemeralOSDiskSettings", ObjectType("BatchDiffDiskSettings", (enum("placement", ("cachedisk",)),))),
        enum("caching", CACHING),
        integer("diskSizeGB", range=(1, None)),
        obj("managedDisk", MANAGED_DISK),
        boolean("writeAcceleratorEnabled"),
    ))),
    obj("securityProfile", SECURITY_PROFILE),
    obj("serviceArtifactReference", ObjectType("ServiceArtifactReference", (string("id", required=True),))),
))

NSG_RULE = ObjectType("NetworkSecurityGroupRule", (
    integer("priority", required=True, range=(150, 4096)),
    enum("access", ("allow", "deny"), required=True),
    string("sourceAddressPrefix", required=True, length=(1, None)),
    array("sourcePortRanges", "str"),
))

INBOUND_NAT_POOL = ObjectType("BatchInboundNatPool", (
    string("name", required=True, length=(1, None)),
    enum("protocol", ("tcp", "udp"), required=True),
    integer("backendPort", required=True, range=(1, 65535)),
    integer("frontendPortRangeStart", required=True, range=(1, 65535)),
    integer("frontendPortRangeEnd", required=True, range=(1, 65535)),
    array("networkSecurityGroupRules", NSG_RULE),
), checks=("range-order",))

NETWORK_CONFIGURATION = ObjectType("NetworkConfiguration", (
    string("subnetId"),
    enum("dynamicVNetAssignmentScope", ("none", "job")),
    obj("endpointConfiguration", ObjectType("BatchPoolEndpointConfiguration", (
        array("inboundNATPools", INBOUND_NAT_POOL, required=True, length=(0, 5)),
    ))),
    obj("publicIPAddressConfiguration", ObjectType("BatchPublicIpAddressConfiguration", (
        enum("provision", ("batchmanaged", "usermanaged", "nopublicipaddresses")),
        array("ipFamilies", "enum", enum=("IPv4", "IPv6")),
        array("ipAddressIds", "str"),
        array("ipTags", ObjectType("IPTag", (string("ipTagType"), string("tag")))),
    ))),
    boolean("enableAcceleratedNetworking"),
))

START_TASK = ObjectType("BatchStartTask", (
    string("commandLine", required=True, length=(1, None)),
    obj("containerSettings", CONTAINER_SETTINGS),
    array("resourceFiles", RESOURCE_FILE),
    array("environmentSettings", ENVIRONMENT_SETTING, keyed_by="name"),
    obj("userIdentity", USER_IDENTITY),
    integer("maxTaskRetryCount", range=(-1, None), default=0),
    boolean("waitForSuccess", default=True),
))

USER_ACCOUNT = ObjectType("UserAccount", (
    string("name", required=True, length=(1, None)),
    string("password", required=True, secret=True, write_only=True),
    enum("elevationLevel", ELEVATION, default="nonadmin"),
    obj("linuxUserConfiguration", ObjectType("LinuxUserConfiguration", (
        integer("uid"),
        integer("gid"),
        string("sshPrivateKey", secret=True, write_only=True),
    ))),
    obj("windowsUserConfiguration", ObjectType("WindowsUserConfiguration", (
        enum("loginMode", ("batch", "interactive")),
    ))),
))

MOUNT_CONFIGURATION = ObjectType("MountConfiguration", (
    obj("azureBlobFileSystemConfiguration", ObjectType("AzureBlobFileSystemConfiguration", (
        string("accountName", required=True, length=(1, None)),
        string("containerName", required=True, length=(1, None)),
        string("accountKey", secret=True, write_only=True),
        string("sasKey", secret=True, write_only=True),
        string("blobfuseOptions"),
        string("relativeMountPath", required=True, length=(1, None)),
        obj("identityReference", IDENTITY_REFERENCE),
    ), one_of=(OneOf(("accountKey", "sasKey", "identityReference")),))),
    obj("nfsMountConfiguration", ObjectType("NfsMountConfiguration", (
        string("source", required=True, length=(1, None)),
        string("relativeMountPath", required=True, length=(1, None)),
        string("mountOptions"),
    ))),
    obj("cifsMountConfiguration", ObjectType("CifsMountConfiguration", (
        string("username", required=True, length=(1, None)),
        string("source", required=True, length=(1, None)),
        string("relativeMountPath", required=True, length=(1, None)),
        string("mountOptions"),
        string("password", required=True, secret=True, write_only=True),
    ))),
    obj("azureFileShareConfiguration", ObjectType("AzureFileShareConfiguration", (
        string("accountName", required=True, length=(1, None)),
        string("accountKey", required=True, secret=True, write_only=True),
        string("azureFileUrl", required=True, length=(1, None)),
        string("relativeMountPath", required=True, length=(1, None)),
        string("mountOptions"),
    ))),
), one_of=(OneOf(("azureBlobFileSystemConfiguration", "nfsMountConfiguration", "cifsMountConfiguration",
                  "azureFileShareConfiguration")),))

UPGRADE_POLICY = ObjectType("UpgradePolicy", (
    enum("mode", ("automatic", "manual", "rolling"), required=True),
    obj("automaticOSUpgradePolicy", ObjectType("AutomaticOsUpgradePolicy", (
        boolean("disableAutomaticRollback"),
        boolean("enableAutomaticOSUpgrade"),
        boolean("useRollingUpgradePolicy"),
        boolean("osRollingUpgradeDeferral"),
    ))),
    obj("rollingUpgradePolicy", ObjectType("RollingUpgradePolicy", (
        boolean("enableCrossZoneUpgrade"),
        integer("maxBatchInstancePercent", range=(0, 100)),
        integer("maxUnhealthyInstancePercent", range=(0, 100)),
        integer("maxUnhealthyUpgradedInstancePercent", range=(0, 100)),
        duration("pauseTimeBetweenBatches", duration=("PT0S", None)),
        boolean("prioritizeUnhealthyInstances"),
        boolean("rollbackFailedInstancesOnPolicyBreach"),
    ))),
))

# 3.3 BatchPoolSpecification, 2025-06-01. Older pages still show the `removed` names.
POOL_SPECIFICATION = ObjectType("BatchPoolSpecification", (
    string("displayName", length=(0, 1024)),
    string("vmSize", required=True, length=(1, None)),
    obj("virtualMachineConfiguration", VIRTUAL_MACHINE_CONFIGURATION, required=True),
    integer("taskSlotsPerNode", range=(1, 256), default=1),
    obj("taskSchedulingPolicy", ObjectType("BatchTaskSchedulingPolicy", (
        enum("jobDefaultOrder", ("none", "creationtime"), default="none"),
        enum("nodeFillType", ("spread", "pack"), required=True),
    ))),
    duration("resizeTimeout", duration=("PT5M", None), default="PT15M"),
    integer("targetDedicatedNodes", range=(0, None)),
    integer("targetLowPriorityNodes", range=(0, None)),
    boolean("enableAutoScale", default=False),
    string("autoScaleFormula"),
    duration("autoScaleEvaluationInterval", duration=("PT5M", "PT168H"), default="PT15M"),
    boolean("enableInterNodeCommunication", default=False),
    obj("networkConfiguration", NETWORK_CONFIGURATION),
    obj("startTask", START_TASK),
    array("applicationPackageReferences", APPLICATION_PACKAGE, length=(0, 10)),
    array("userAccounts", USER_ACCOUNT, keyed_by="name"),
    array("metadata", METADATA_ITEM, keyed_by="name"),
    array("mountConfiguration", MOUNT_CONFIGURATION),
    obj("upgradePolicy", UPGRADE_POLICY),
), checks=("autoscale",), removed=("certificateReferences", "targetNodeCommunicationMode", "resourceTags"))

_AUTO_POOL_FIXED = "an auto-pool specification cannot change after creation, except keepAlive (4.1)"

# 3.2. The container fields (poolInfo, autoPoolSpecification) carry no rule: each leaf decides, and a
# change of the whole container is as strict as its strictest field.
AUTO_POOL_SPECIFICATION = ObjectType("BatchAutoPoolSpecification", (
    string("autoPoolIdPrefix", length=(0, 20), change=REPLACE, note=_AUTO_POOL_FIXED),
    enum("poolLifetimeOption", ("jobschedule", "job"), required=True, change=REPLACE, note=_AUTO_POOL_FIXED),
    boolean("keepAlive", default=False, change=PATCH, note="keepAlive is the one auto-pool field PATCH takes"),
    obj("pool", POOL_SPECIFICATION, change=REPLACE, note=_AUTO_POOL_FIXED),
), checks=("pool-lifetime-jobschedule",))

POOL_INFO = ObjectType("BatchPoolInfo", (
    ident("poolId", change=PATCH_WHEN_DISABLED,
          note="the job must be disabled while its poolInfo is patched (4.1)"),
    obj("autoPoolSpecification", AUTO_POOL_SPECIFICATION),
), one_of=(OneOf(("poolId", "autoPoolSpecification")),))
