"""Keep secret parts of a spec secret: registry/user passwords, storage keys and SAS query strings.

Secrets reach the provider unwrapped (the dynamic host does not accept secrets), and the engine stores inputs
and outputs in plaintext unless they were secret in the program. So the Resource classes wrap a spec that holds
any sensitive value in `Output.secret` before registering it: state stores it encrypted, the engine shows
`[secret]`, and the provider's own plan lines never print these values (see providers/diff.py).
"""
from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

import pulumi

# Field names whose values are credentials wherever they appear in a Batch body (batch-api.md 3.3, 3.9).
SECRET_FIELDS = frozenset({"password", "accountKey", "sasKey", "protectedSettings", "sshPrivateKey"})
# Fields holding storage URLs; a query string on them is a SAS token.
URL_FIELDS = frozenset({"httpUrl", "storageContainerUrl", "containerUrl", "autoStorageContainerName"})


def is_sas_url(value: Any) -> bool:
    """True for a URL that carries a query string (a SAS token grants access by itself)."""
    return isinstance(value, str) and bool(urlsplit(value).query)


def has_sensitive_values(value: Any) -> bool:
    """True when a (plain) spec holds a credential or a SAS URL anywhere (also inside a JSON string)."""
    if isinstance(value, str) and value.startswith(("[", "{")):
        try:
            value = json.loads(value)
        except ValueError:
            return False
    if isinstance(value, dict):
        for key, item in value.items():
            if key in SECRET_FIELDS and item not in (None, ""):
                return True
            if key in URL_FIELDS and is_sas_url(item):
                return True
            if has_sensitive_values(item):
                return True
    elif isinstance(value, list):
        return any(has_sensitive_values(item) for item in value)
    return False


def mark_secret_spec(kind: str, spec: Any) -> Any:
    """The spec, wrapped in `Output.secret` when it holds anything sensitive (`kind` is for future rules)."""
    if isinstance(spec, pulumi.Output):
        return spec.apply(lambda plain: pulumi.Output.secret(plain) if has_sensitive_values(plain) else plain)
    if has_sensitive_values(spec):
        return pulumi.Output.secret(spec)
    return spec
