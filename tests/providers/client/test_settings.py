"""Connection settings: stack config keys first, AZURE_BATCH_* environment second, the key never shown."""
from __future__ import annotations

import pickle

import pytest
from pulumi.dynamic import Config

from providers.client.auth import EntraAuth, SharedKeyAuth
from providers.client.errors import ConfigurationError
from providers.client.settings import ConnectionSettings, resolve_settings

KEY = "ZGV2YmF0Y2hhY2NvdW50LWtleS1ub3QtYS1zZWNyZXQtMDEyMzQ1Njc4OQ=="
OTHER_KEY = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
LOCAL = "http://127.0.0.1:8080"


def test_stack_config_keys_are_read_fully_qualified_from_a_dynamic_config() -> None:
    config = Config({"batch:endpoint": LOCAL + "/", "batch:accountName": "devbatchaccount",
                     "batch:accountKey": KEY, "batch:auth": "sharedKey", "other:x": "y"}, "proj")
    settings = resolve_settings(config, environ={})
    assert (settings.endpoint, settings.auth_mode, settings.account_name, settings.account_key) == (
        LOCAL, "sharedKey", "devbatchaccount", KEY)


def test_environment_is_the_fallback_for_each_missing_key() -> None:
    environ = {"AZURE_BATCH_ENDPOINT": "https://env.westus.batch.azure.com",
               "AZURE_BATCH_ACCOUNT_NAME": "envaccount", "AZURE_BATCH_ACCESS_KEY": OTHER_KEY}
    settings = resolve_settings({"batch:accountName": "cfgaccount"}, environ=environ)
    assert (settings.endpoint, settings.account_name, settings.account_key, settings.auth_mode) == (
        "https://env.westus.batch.azure.com", "cfgaccount", OTHER_KEY, "sharedKey")


def test_config_wins_over_environment() -> None:
    settings = resolve_settings({"batch:endpoint": LOCAL, "batch:accountName": "a", "batch:accountKey": KEY},
                                environ={"AZURE_BATCH_ENDPOINT": "https://x.westus.batch.azure.com",
                                         "AZURE_BATCH_ACCESS_KEY": OTHER_KEY})
    assert (settings.endpoint, settings.account_key) == (LOCAL, KEY)


def test_missing_endpoint_names_both_the_config_key_and_the_variable() -> None:
    with pytest.raises(ConfigurationError) as caught:
        resolve_settings({}, environ={})
    assert "batch:endpoint" in str(caught.value) and "AZURE_BATCH_ENDPOINT" in str(caught.value)


def test_auth_defaults_to_entra_without_a_key() -> None:
    settings = resolve_settings({"batch:endpoint": "https://acct.westus.batch.azure.com"}, environ={})
    assert settings.auth_mode == "entra" and isinstance(settings.make_auth(), EntraAuth)


def test_entra_mode_drops_a_key_that_is_also_configured() -> None:
    settings = resolve_settings({"batch:endpoint": LOCAL, "batch:auth": "entra", "batch:accountKey": KEY},
                                environ={})
    assert settings.auth_mode == "entra" and settings.account_key is None


def test_auth_mode_from_environment_and_case_insensitive() -> None:
    settings = resolve_settings({"batch:endpoint": LOCAL}, environ={"AZURE_BATCH_AUTH": "ENTRA"})
    assert settings.auth_mode == "entra"


def test_unknown_auth_mode_is_refused_naming_the_allowed_ones() -> None:
    with pytest.raises(ConfigurationError, match="sharedKey, entra"):
        resolve_settings({"batch:endpoint": LOCAL, "batch:auth": "basic"}, environ={})


def test_account_name_is_derived_from_an_azure_endpoint() -> None:
    settings = resolve_settings({"batch:endpoint": "https://myaccount.westus.batch.azure.com",
                                 "batch:accountKey": KEY}, environ={})
    assert settings.account_name == "myaccount"
    assert isinstance(settings.make_auth(), SharedKeyAuth)


def test_shared_key_without_account_name_on_a_local_endpoint_is_a_clear_error() -> None:
    with pytest.raises(ConfigurationError) as caught:
        resolve_settings({"batch:endpoint": LOCAL, "batch:accountKey": KEY}, environ={})
    assert "batch:accountName" in str(caught.value) and "AZURE_BATCH_ACCOUNT_NAME" in str(caught.value)
    assert KEY not in str(caught.value)


@pytest.mark.parametrize("endpoint", ["ftp://x", "not a url", "https://acct.westus.batch.azure.com?sig=SECRET",
                                      "https://user:SECRET@acct.westus.batch.azure.com"])
def test_bad_endpoints_are_refused_without_echoing_them(endpoint: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        resolve_settings({"batch:endpoint": endpoint}, environ={})
    assert "SECRET" not in str(caught.value) and "batch:endpoint" in str(caught.value)


def test_settings_repr_hides_the_key_and_pickling_is_refused() -> None:
    settings = resolve_settings({"batch:endpoint": LOCAL, "batch:accountName": "a", "batch:accountKey": KEY},
                                environ={})
    assert KEY not in repr(settings) and KEY not in str(settings)
    with pytest.raises(TypeError) as caught:
        pickle.dumps(settings)
    assert KEY not in str(caught.value)


def test_settings_are_hashable_for_the_shared_client_cache() -> None:
    one = ConnectionSettings(LOCAL, "sharedKey", "a", KEY)
    assert {one: 1}[ConnectionSettings(LOCAL, "sharedKey", "a", KEY)] == 1
    assert one != ConnectionSettings(LOCAL, "sharedKey", "a", OTHER_KEY)
