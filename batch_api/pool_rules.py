"""Cross-field rules of pools and pool specifications (reference 3.3 and the BatchPoolSpecification,
BatchInboundNatPool, RollingUpgradePolicy descriptions of BatchService.json 2025-06-01)."""
from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from batch_api.model import MISSING, RuleContext, Violation, join
from batch_api.rules import Value, as_int, requires, rule


def _given(value: Value, name: str) -> bool:
    return value.get(name) is not None


@rule("autoscale")
def autoscale(pool: Value, ctx: RuleContext) -> Iterator[Violation]:
    """3.3: autoScaleFormula iff enableAutoScale; fixed node targets only without autoscale."""
    enabled = pool.get("enableAutoScale") is True
    if enabled and pool.get("autoScaleFormula") is None:
        yield Violation("autoScaleFormula", "autoScaleFormula is required when enableAutoScale is true", MISSING)
    for name in ("targetDedicatedNodes", "targetLowPriorityNodes"):
        if enabled and _given(pool, name):
            yield Violation(name, f"{name} cannot be given when enableAutoScale is true")
    if not enabled and _given(pool, "autoScaleFormula"):
        yield Violation("autoScaleFormula", "autoScaleFormula needs enableAutoScale to be true")


# Rules with preview=False are the service's alone so far: the providers leave them to the service's 400.
# A pool or auto-pool without node counts is accepted by the real service (recorded 201), which reports 0 and 0.


@rule("os-upgrade-vs-windows-updates", preview=False)
def os_upgrade_vs_windows_updates(pool: Value, ctx: RuleContext) -> Iterator[Violation]:
    """Automatic OS upgrade and Windows automatic updates cannot both be on (AutomaticOsUpgradePolicy)."""
    os_upgrade = (pool.get("upgradePolicy") or {}).get("automaticOSUpgradePolicy") or {}
    windows = (pool.get("virtualMachineConfiguration") or {}).get("windowsConfiguration") or {}
    if os_upgrade.get("enableAutomaticOSUpgrade") is True and windows.get("enableAutomaticUpdates") is True:
        yield Violation("virtualMachineConfiguration.windowsConfiguration.enableAutomaticUpdates",
                        "enableAutomaticUpdates cannot be true when "
                        "upgradePolicy.automaticOSUpgradePolicy.enableAutomaticOSUpgrade is true")


_POOL_APP_ID = re.compile(r"/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.Batch"
                          r"/batchAccounts/[^/]+/applications/[^/]+", re.IGNORECASE)


@rule("pool-application-ids", preview=False)
def pool_application_ids(pool: Value, ctx: RuleContext) -> Iterator[Violation]:
    """On pools an application package id is the fully qualified ARM id (BatchPoolSpecification)."""
    refs = pool.get("applicationPackageReferences")
    for index, ref in enumerate(refs if isinstance(refs, list) else []):
        app_id = ref.get("applicationId") if isinstance(ref, Mapping) else None
        if isinstance(app_id, str) and not _POOL_APP_ID.fullmatch(app_id):
            yield Violation(f"applicationPackageReferences[{index}].applicationId",
                            "applicationId must be a fully qualified application id "
                            "(/subscriptions/.../applications/{name})")


POOL_RULES = (autoscale, os_upgrade_vs_windows_updates, pool_application_ids)

_FRONTEND_RANGE_MIN_PORTS = 40
_NSG_RULES_PER_POOL = 25


@rule("nat-frontend-range-size", preview=False)
def nat_frontend_range_size(nat_pool: Value, ctx: RuleContext) -> Iterator[Violation]:
    """A NAT pool's frontend port range holds at least 40 ports (BatchInboundNatPool)."""
    start = as_int(nat_pool.get("frontendPortRangeStart"))
    end = as_int(nat_pool.get("frontendPortRangeEnd"))
    if start is not None and end is not None and end - start + 1 < _FRONTEND_RANGE_MIN_PORTS:
        yield Violation("frontendPortRangeEnd",
                        f"the frontend port range must contain at least {_FRONTEND_RANGE_MIN_PORTS} ports")


def _nat_pools(endpoints: Value) -> list[tuple[str, Mapping[str, Any]]]:
    pools = endpoints.get("inboundNATPools")
    return [(f"inboundNATPools[{i}]", p) for i, p in enumerate(pools if isinstance(pools, list) else [])
            if isinstance(p, Mapping)]


@rule("endpoint-limits", preview=False)
def endpoint_limits(endpoints: Value, ctx: RuleContext) -> Iterator[Violation]:
    """Pool-wide: distinct backend ports, disjoint frontend ranges, at most 25 NSG rules with unique
    priorities (BatchPoolEndpointConfiguration)."""
    backend_ports: set[int | None] = set()
    ranges: list[tuple[int, int]] = []
    priorities: set[int | None] = set()
    rule_count = 0
    for item, nat_pool in _nat_pools(endpoints):
        backend = as_int(nat_pool.get("backendPort"))
        if backend in backend_ports:
            yield Violation(join(item, "backendPort"), "backendPort must be unique within the pool")
        backend_ports.add(backend)
        start = as_int(nat_pool.get("frontendPortRangeStart")) or 0
        end = as_int(nat_pool.get("frontendPortRangeEnd")) or 0
        if any(start <= other_end and other_start <= end for other_start, other_end in ranges):
            yield Violation(join(item, "frontendPortRangeStart"),
                            "frontend port ranges within a pool must not overlap")
        ranges.append((start, end))
        rules = nat_pool.get("networkSecurityGroupRules")
        for index, nsg_rule in enumerate(rules if isinstance(rules, list) else []):
            rule_count += 1
            if rule_count > _NSG_RULES_PER_POOL:
                yield Violation(join(item, "networkSecurityGroupRules"),
                                f"a pool may have at most {_NSG_RULES_PER_POOL} network security group rules")
            priority = as_int(nsg_rule.get("priority")) if isinstance(nsg_rule, Mapping) else None
            if priority in priorities:
                yield Violation(f"{join(item, 'networkSecurityGroupRules')}[{index}].priority",
                                "priority must be unique within the pool")
            priorities.add(priority)


@rule("endpoints-need-public-ips", preview=False)
def endpoints_need_public_ips(network: Value, ctx: RuleContext) -> Iterator[Violation]:
    """Inbound NAT pools cannot be used with nopublicipaddresses (BatchPoolEndpointConfiguration)."""
    provision = str((network.get("publicIPAddressConfiguration") or {}).get("provision") or "")
    if _given(network, "endpointConfiguration") and provision.lower() == "nopublicipaddresses":
        yield Violation("endpointConfiguration", "endpointConfiguration cannot be given when "
                        "publicIPAddressConfiguration.provision is nopublicipaddresses")


@rule("ip-address-ids", preview=False)
def ip_address_ids(config: Value, ctx: RuleContext) -> Iterator[Violation]:
    """User-managed public IPs are given by ipAddressIds, which no other provisioning type takes."""
    user_managed = str(config.get("provision") or "").lower() == "usermanaged"
    if user_managed and not config.get("ipAddressIds"):
        yield Violation("ipAddressIds", "ipAddressIds is required when provision is usermanaged", MISSING)
    if not user_managed and _given(config, "ipAddressIds"):
        yield Violation("ipAddressIds", "ipAddressIds may only be given when provision is usermanaged")


@rule("rolling-percentages", preview=False)
def rolling_percentages(policy: Value, ctx: RuleContext) -> Iterator[Violation]:
    """maxBatchInstancePercent must not exceed maxUnhealthyInstancePercent (RollingUpgradePolicy)."""
    batch = as_int(policy.get("maxBatchInstancePercent"))
    unhealthy = as_int(policy.get("maxUnhealthyInstancePercent"))
    if batch is not None and unhealthy is not None and batch > unhealthy:
        yield Violation("maxBatchInstancePercent",
                        "maxBatchInstancePercent must not be greater than maxUnhealthyInstancePercent")


@rule("customer-key-needs-os-disk", preview=False)
def customer_key_needs_os_disk(config: Value, ctx: RuleContext) -> Iterator[Violation]:
    """A customer-managed key encrypts the OS disk, so osdisk must be a target."""
    targets = config.get("targets")
    lowered = [str(t).lower() for t in targets] if isinstance(targets, list) else []
    if _given(config, "customerManagedKey") and "osdisk" not in lowered:
        yield Violation("targets", "targets must include osdisk when customerManagedKey is given")


@rule("marketplace-image")
def marketplace_image(value: Value, ctx: RuleContext) -> Iterator[Violation]:
    """3.3: a marketplace image names publisher, offer and sku together."""
    parts = ("publisher", "offer", "sku")
    given = [p for p in parts if value.get(p) is not None]
    if given and len(given) < len(parts):
        for missing in (p for p in parts if p not in given):
            yield Violation(missing, f"{missing} is required with {', '.join(given)}", MISSING)


@rule("gallery-image-version", preview=False)
def gallery_image_version(value: Value, ctx: RuleContext) -> Iterator[Violation]:
    """A gallery or custom image id names its version itself: `version` goes with marketplace images only."""
    for name in ("virtualMachineImageId", "sharedGalleryImageId", "communityGalleryImageId"):
        if _given(value, name) and _given(value, "version"):
            yield Violation("version", f"version is not allowed with {name}")


UEFI_NEEDS_SECURITY_TYPE = requires("uefi-needs-security-type", "uefiSettings", "securityType",
                                    "securityType is required to enable uefiSettings", preview=False)
UID_NEEDS_GID = requires("uid-needs-gid", "uid", "gid", "uid and gid must be given together", preview=False)
GID_NEEDS_UID = requires("gid-needs-uid", "gid", "uid", "uid and gid must be given together", preview=False)
USERNAME_NEEDS_PASSWORD = requires("username-needs-password", "username", "password",
                                   "password is required with username", preview=False)
PASSWORD_NEEDS_USERNAME = requires("password-needs-username", "password", "username",
                                   "username is required with password", preview=False)
