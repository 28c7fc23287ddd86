"""Tables of pools: the pool create body, the pool specification of an auto-pool, and every child object
(reference 3.2-3.3; field lists and enum spellings follow BatchService.json 2025-06-01, limits come from its
property descriptions). `certificateReferences`, `targetNodeCommunicationMode` and `resourceTags` are gone in
2025-06-01 and listed as removed."""
from __future__ import annotations

from batch_api import pool_rules as pr
from batch_api.model import (
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
from batch_api.rules import pool_lifetime_jobschedule, range_order
from batch_api.tasks import (
    APPLICATION_PACKAGE,
    COMMAND,
    CONTAINER_REGISTRY,
    ELEVATION,
    IDENTITY_REFERENCE,
    METADATA_ITEM,
    NON_EMPTY,
    USER_IDENTITY,
)

CACHING = ("none", "readonly", "readwrite")
# The forms of a custom or gallery image id the real service takes (its recorded 400 InvalidPropertyValue).
VM_IMAGE_ID = (r"(?i)/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.Compute/"
               r"(images/[^/]+|galleries/[^/]+/images/[^/]+(/versions/[^/]+)?)")
VM_IMAGE_ID_REASON = (
    "must be of the format /subscriptions/{subscriptionId}/resourceGroups/"
    "{resourceGroupName}/providers/Microsoft.Compute/images/{imageName}, /subscriptions/{subscriptionId}/"
    "resourceGroups/{resourceGroupName}/providers/Microsoft.Compute/galleries/{galleryName}/images/"
    "{galleryImageName}/versions/{galleryImageVersionName}, or /subscriptions/{subscriptionId}/resourceGroups/"
    "{resourceGroupName}/providers/Microsoft.Compute/galleries/{galleryName}/images/{galleryImageName}")

IMAGE_REFERENCE = ObjectType("BatchVmImageReference", (
    string("publisher"),
    string("offer"),
    string("sku"),
    # The real service reports the default version "latest" (recorded pool GETs).
    string("version", default="latest"),
    string("virtualMachineImageId", pattern=VM_IMAGE_ID, reason=VM_IMAGE_ID_REASON),
    string("exactVersion", read_only=True),  # the service tolerates it on input, so a read-back spec resends
    string("sharedGalleryImageId"),
    string("communityGalleryImageId"),
), one_of=(OneOf(("publisher", "virtualMachineImageId", "sharedGalleryImageId", "communityGalleryImageId")),),
    rules=(pr.marketplace_image, pr.gallery_image_version))

MANAGED_DISK = ObjectType("ManagedDisk", (
    enum("storageAccountType", ("standard_lrs", "premium_lrs", "standardssd_lrs")),
    obj("diskEncryptionSet", ObjectType("DiskEncryptionSetParameters", (string("id"),))),
    obj("securityProfile", ObjectType("BatchVmDiskSecurityProfile", (
        enum("securityEncryptionType", ("DiskWithVMGuestState", "NonPersistedTPM", "VMGuestStateOnly")),
    ))),
))

# The real service reports an omitted data disk caching as "none" and its storage as standard_lrs (recorded
# pool GETs; older api-versions wrote the storage type on the disk itself).
DATA_DISK = ObjectType("DataDisk", (
    integer("lun", required=True, range=(0, 63)),
    enum("caching", CACHING, default="none"),
    integer("diskSizeGB", required=True, range=(1, None)),
    obj("managedDisk", MANAGED_DISK, default={"storageAccountType": "standard_lrs"}),
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
), rules=(pr.UEFI_NEEDS_SECURITY_TYPE,))

VM_EXTENSION = ObjectType("VMExtension", (
    string("name", required=True, length=NON_EMPTY),
    string("publisher", required=True, length=NON_EMPTY),
    string("type", required=True, length=NON_EMPTY),
    string("typeHandlerVersion"),
    boolean("autoUpgradeMinorVersion"),
    boolean("enableAutomaticUpgrade"),
    mapping("settings"),
    mapping("protectedSettings", secret=True, write_only=True),
    array("provisionAfterExtensions", "str"),
))

VIRTUAL_MACHINE_CONFIGURATION = ObjectType("VirtualMachineConfiguration", (
    obj("imageReference", IMAGE_REFERENCE, required=True),
    string("nodeAgentSKUId", required=True, length=NON_EMPTY),
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
            obj("identityReference", ObjectType("BatchPoolIdentityReference", (string("resourceId"),))),
            string("keyUrl"),
            boolean("rotationToLatestKeyVersionEnabled"),
        ))),
        array("targets", "enum", enum=("osdisk", "temporarydisk")),
    ), rules=(pr.customer_key_needs_os_disk,))),
    obj("nodePlacementConfiguration", ObjectType("BatchNodePlacementConfiguration", (
        enum("policy", ("regional", "zonal")),
    ))),
    array("extensions", VM_EXTENSION, unique="name"),
    obj("osDisk", ObjectType("BatchOsDisk", (
        obj("ephemeralOSDiskSettings", ObjectType("BatchDiffDiskSettings", (enum("placement", ("cachedisk",)),))),
        enum("caching", CACHING),
        integer("diskSizeGB", range=(1, None)),
        obj("managedDisk", MANAGED_DISK),
        boolean("writeAcceleratorEnabled"),
    ))),
    obj("securityProfile", SECURITY_PROFILE),
    obj("serviceArtifactReference", ObjectType("ServiceArtifactReference",
                                               (string("id", required=True, length=NON_EMPTY),))),
))

NSG_RULE = ObjectType("NetworkSecurityGroupRule", (
    integer("priority", required=True, range=(150, 4096)),
    enum("access", ("allow", "deny"), required=True),
    string("sourceAddressPrefix", required=True, length=NON_EMPTY),
    array("sourcePortRanges", "str", pattern=r"\*|\d{1,5}(-\d{1,5})?",
          reason="must be '*', a port or a port range like 100-200"),
))

_FRONTEND = "must be between 1 and 65534, excluding the reserved ports 50000 to 55000"

INBOUND_NAT_POOL = ObjectType("BatchInboundNatPool", (
    string("name", required=True, length=(1, 77), pattern=r"[A-Za-z0-9]([A-Za-z0-9_.-]*[A-Za-z0-9_])?",
           reason="must start with a letter or digit, end with a letter, digit or underscore, and contain "
                  "only letters, digits, underscores, periods and hyphens"),
    enum("protocol", ("tcp", "udp"), required=True),
    integer("backendPort", required=True, range=(1, 65535), excluded=((29876, 29877),),
            reason="must be between 1 and 65535, excluding the reserved ports 29876 and 29877"),
    integer("frontendPortRangeStart", required=True, range=(1, 65534), excluded=((50000, 55000),), reason=_FRONTEND),
    integer("frontendPortRangeEnd", required=True, range=(1, 65534), excluded=((50000, 55000),), reason=_FRONTEND),
    array("networkSecurityGroupRules", NSG_RULE),
), rules=(range_order, pr.nat_frontend_range_size))

NETWORK_CONFIGURATION = ObjectType("NetworkConfiguration", (
    string("subnetId"),
    enum("dynamicVNetAssignmentScope", ("none", "job")),
    obj("endpointConfiguration", ObjectType("BatchPoolEndpointConfiguration", (
        array("inboundNATPools", INBOUND_NAT_POOL, required=True, length=(0, 5), unique="name"),
    ), rules=(pr.endpoint_limits,))),
    obj("publicIPAddressConfiguration", ObjectType("BatchPublicIpAddressConfiguration", (
        enum("provision", ("batchmanaged", "usermanaged", "nopublicipaddresses")),
        array("ipFamilies", "enum", enum=("IPv4", "IPv6")),
        array("ipAddressIds", "str"),
        array("ipTags", ObjectType("IPTag", (string("ipTagType"), string("tag")))),
    ), rules=(pr.ip_address_ids,))),
    boolean("enableAcceleratedNetworking"),
), rules=(pr.endpoints_need_public_ips,))

START_TASK = ObjectType("BatchStartTask", (
    *COMMAND,
    obj("userIdentity", USER_IDENTITY),
    integer("maxTaskRetryCount", range=(-1, None), default=0, reported=False),
    boolean("waitForSuccess", default=True, reported=False),
))

WINDOWS_USER_DEFAULT = {"loginMode": "batch"}
WINDOWS_NODE_AGENT_PREFIX = "batch.node.windows"

USER_ACCOUNT = ObjectType("UserAccount", (
    string("name", required=True, length=(1, 20)),
    string("password", required=True, length=NON_EMPTY, secret=True, write_only=True),
    enum("elevationLevel", ELEVATION, default="nonadmin"),  # reported when omitted (recorded pool GETs)
    obj("linuxUserConfiguration", ObjectType("LinuxUserConfiguration", (
        integer("uid", range=(0, None)),
        integer("gid", range=(0, None)),
        string("sshPrivateKey", secret=True, write_only=True),
    ), rules=(pr.UID_NEEDS_GID, pr.GID_NEEDS_UID))),
    # Reported as {"loginMode": "batch"} on Windows images only (recorded pool GETs): the service fills it
    # with `batch_api.defaults.pool_os_defaults`, the providers compare with the default.
    obj("windowsUserConfiguration", ObjectType("WindowsUserConfiguration", (
        enum("loginMode", ("batch", "interactive")),
    )), default=WINDOWS_USER_DEFAULT, reported=False),
))

MOUNT_CONFIGURATION = ObjectType("MountConfiguration", (
    obj("azureBlobFileSystemConfiguration", ObjectType("AzureBlobFileSystemConfiguration", (
        string("accountName", required=True, length=NON_EMPTY),
        string("containerName", required=True, length=NON_EMPTY),
        string("accountKey", secret=True, write_only=True),
        string("sasKey", secret=True, write_only=True),
        string("blobfuseOptions"),
        string("relativeMountPath", required=True, length=NON_EMPTY),
        obj("identityReference", IDENTITY_REFERENCE),
    ), one_of=(OneOf(("accountKey", "sasKey", "identityReference")),))),
    obj("nfsMountConfiguration", ObjectType("NfsMountConfiguration", (
        string("source", required=True, length=NON_EMPTY),
        string("relativeMountPath", required=True, length=NON_EMPTY),
        string("mountOptions"),
    ))),
    obj("cifsMountConfiguration", ObjectType("CifsMountConfiguration", (
        string("username", required=True, length=NON_EMPTY),
        string("source", required=True, length=NON_EMPTY),
        string("relativeMountPath", required=True, length=NON_EMPTY),
        string("mountOptions"),
        string("password", required=True, length=NON_EMPTY, secret=True, write_only=True),
    ))),
    obj("azureFileShareConfiguration", ObjectType("AzureFileShareConfiguration", (
        string("accountName", required=True, length=NON_EMPTY),
        string("accountKey", required=True, length=NON_EMPTY, secret=True, write_only=True),
        string("azureFileUrl", required=True, length=NON_EMPTY),
        string("relativeMountPath", required=True, length=NON_EMPTY),
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
        integer("maxBatchInstancePercent", range=(5, 100)),
        integer("maxUnhealthyInstancePercent", range=(5, 100)),
        integer("maxUnhealthyUpgradedInstancePercent", range=(0, 100)),
        duration("pauseTimeBetweenBatches", duration=("PT0S", None)),
        boolean("prioritizeUnhealthyInstances"),
        boolean("rollbackFailedInstancesOnPolicyBreach"),
    ), rules=(pr.rolling_percentages,))),
))

# 3.3 BatchPoolSpecification, 2025-06-01. Older pages still show the `removed` names.
POOL_SPECIFICATION = ObjectType("BatchPoolSpecification", (
    string("displayName", length=(0, 1024)),
    string("vmSize", required=True, length=NON_EMPTY),
    # Required in practice: cloudServiceConfiguration is gone, so a pool cannot exist without it (3.3).
    obj("virtualMachineConfiguration", VIRTUAL_MACHINE_CONFIGURATION, required=True),
    integer("taskSlotsPerNode", range=(1, 256), default=1),
    obj("taskSchedulingPolicy", ObjectType("BatchTaskSchedulingPolicy", (
        enum("jobDefaultOrder", ("none", "creationtime"), default="none", reported=False),
        # The real service spells these Spread and Pack in its answers (recorded GETs, "pack" sent); the
        # 2025-06-01 specification writes them lowercase. Either is accepted, the recorded one is reported.
        enum("nodeFillType", ("Spread", "Pack"), required=True),
    )), default={"nodeFillType": "Spread"}),
    duration("resizeTimeout", duration=("PT5M", None), reason="must be at least 5 minutes", default="PT15M"),
    integer("targetDedicatedNodes", range=(0, None), default=0),
    integer("targetLowPriorityNodes", range=(0, None), default=0),
    boolean("enableAutoScale", default=False),
    string("autoScaleFormula"),
    duration("autoScaleEvaluationInterval", duration=("PT5M", "PT168H"),
             reason="must be between 5 minutes and 168 hours", default="PT15M", reported=False),
    boolean("enableInterNodeCommunication", default=False),
    obj("networkConfiguration", NETWORK_CONFIGURATION),
    obj("startTask", START_TASK),
    array("applicationPackageReferences", APPLICATION_PACKAGE, length=(0, 10)),
    array("userAccounts", USER_ACCOUNT, keyed_by="name"),
    array("metadata", METADATA_ITEM, keyed_by="name"),
    array("mountConfiguration", MOUNT_CONFIGURATION),
    obj("upgradePolicy", UPGRADE_POLICY),
), rules=pr.POOL_RULES, removed=("certificateReferences", "targetNodeCommunicationMode", "resourceTags"))

# POST /pools (3.3): the specification with an id.
POOL = ObjectType("BatchPoolCreateOptions", (ident("id", required=True), *POOL_SPECIFICATION.fields),
                  rules=POOL_SPECIFICATION.rules, removed=POOL_SPECIFICATION.removed)

_AUTO_POOL_FIXED = "an auto-pool specification cannot change after creation, except keepAlive (4.1)"

# 3.2. The container fields (poolInfo, autoPoolSpecification) carry no rule: each leaf decides, and a
# change of the whole container is as strict as its strictest field.
AUTO_POOL_SPECIFICATION = ObjectType("BatchAutoPoolSpecification", (
    string("autoPoolIdPrefix", length=(0, 20), pattern=r"[A-Za-z0-9_-]*",
           reason="may contain only letters, digits, hyphens and underscores", change=REPLACE,
           note=_AUTO_POOL_FIXED),
    enum("poolLifetimeOption", ("jobschedule", "job"), required=True, change=REPLACE, note=_AUTO_POOL_FIXED),
    boolean("keepAlive", default=False, change=PATCH,  # reported when omitted (recorded job GETs)
            note="keepAlive is the one auto-pool field PATCH takes"),
    obj("pool", POOL_SPECIFICATION, change=REPLACE, note=_AUTO_POOL_FIXED),
), rules=(pool_lifetime_jobschedule,))

POOL_INFO = ObjectType("BatchPoolInfo", (
    ident("poolId", change=PATCH_WHEN_DISABLED,
          note="the job must be disabled while its poolInfo is patched (4.1)"),
    obj("autoPoolSpecification", AUTO_POOL_SPECIFICATION),
), one_of=(OneOf(("poolId", "autoPoolSpecification")),))
