"""Keep secret parts of a spec secret: passwords, storage keys, extension settings and SAS query strings.

Secrets reach the provider unwrapped (the dynamic host does not accept secrets), and the engine stores inputs
and outputs in plaintext unless they were secret in the program. So the Resource classes wrap a spec that holds
any sensitive value in `Output.secret` before registering it: state stores it encrypted, the engine shows
`[secret]`, and the provider's own plan lines never print these values (see providers/diff.py).

Which fields are secret is the schema table's call (`secret_paths`). The table is deliberately broad because it
also drives redaction; for marking a whole spec secret two of its classes are narrowed: a storage URL counts only
when it carries a query string (the SAS token), and an environment value only when the user made it a secret
(`pulumi.Output.secret`), which Pulumi then keeps secret by itself.
"""
from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlsplit

import pulumi

from providers.schema import secret_paths

_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def is_sas_url(value: Any) -> bool:
    """True for a URL that carries a query string (a SAS token grants access by itself)."""
    return isinstance(value, str) and bool(urlsplit(value).query)


def _at(spec: Any, path: str) -> Any:
    """The value at a dotted path with list indices, e.g. `resourceFiles[0].httpUrl`."""
    value = spec
    for name, index in _STEP.findall(path):
        value = value[int(index)] if index else value[name]
    return value


def _sensitive(spec: Any, path: str) -> bool:
    leaf = path.rsplit(".", 1)[-1]
    if leaf.endswith("Url"):
        return is_sas_url(_at(spec, path))
    if leaf == "value":  # environmentSettings[i].value: secret only when the user marked it
        return False
    return _at(spec, path) not in (None, "")


def has_sensitive_values(kind: str, value: Any) -> bool:
    """True when a plain spec (or a list of them, or their JSON text) holds a credential or a SAS URL."""
    if isinstance(value, str) and value.startswith(("[", "{")):
        try:
            value = json.loads(value)
        except ValueError:
            return False
    if isinstance(value, list):
        return any(has_sensitive_values(kind, item) for item in value)
    return isinstance(value, dict) and any(_sensitive(value, path) for path in secret_paths(kind, value))


def mark_secret_spec(kind: str, spec: Any) -> Any:
    """The spec, wrapped in `Output.secret` when it holds anything sensitive."""
    if isinstance(spec, pulumi.Output):
        return spec.apply(lambda plain: pulumi.Output.secret(plain) if has_sensitive_values(kind, plain) else plain)
    if has_sensitive_values(kind, spec):
        return pulumi.Output.secret(spec)
    return spec
