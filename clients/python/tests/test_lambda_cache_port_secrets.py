"""lambda-cache's Secrets Manager tests (test_secrets_manager_cache.py) with the import
renamed: see lambda_cache_port."""

import pytest

from lambda_cache_port import MAX_AGE, Clock, LambdaContext, prefix, update_secret
from sidecache import secrets_manager
from sidecache.exceptions import ArgumentTypeNotSupportedError, NoEntryNameError

P = prefix().lstrip("/")
secret_name_string_value = "This is a secret /@#$"
secret_name_binary_value = "this is a secret in binary".encode("utf-8")
# Each case changes its secret upstream, and the cases run side by side: a secret each.
assigned = {"String": f"{P}/assign/secret_string", "Binary": f"{P}/assign/secret_binary"}
decorated = {name: f"{P}/{name}/secret_string" for name in ("normal", "ttl", "entry")}
decorated["binary"] = f"{P}/binary/secret_binary"


@pytest.fixture(scope="module", autouse=True)
def initialized():
    for name in [assigned["String"], *[decorated[k] for k in ("normal", "ttl", "entry")]]:
        update_secret(name, secret_name_string_value)
    for name in (assigned["Binary"], decorated["binary"]):
        update_secret(name, secret_name_binary_value, "Binary")


def dummy(secret_type, text):
    return text.encode("utf-8") if secret_type == "Binary" else text


def test_get_secrets():
    # lambda-cache's parameter_assignment, for a SecretString and a SecretBinary at once.
    originals = {"String": secret_name_string_value, "Binary": secret_name_binary_value}
    dummies = {kind: dummy(kind, f"dummy-{kind}") for kind in assigned}

    def get_all():
        return {kind: secrets_manager.get_entry(name=name, max_age_in_seconds=MAX_AGE)
                for kind, name in assigned.items()}

    clock = Clock()
    clock.fetching()
    assert get_all() == originals
    clock.fetched()
    for kind, name in assigned.items():
        update_secret(name, dummies[kind], kind)
    assert get_all() == originals
    assert clock.within_max_age()
    clock.wait_past()
    clock.fetching()
    assert get_all() == dummies
    clock.fetched()
    # Reverted: the dummies are still cached for half of max_age, then the originals.
    for kind, name in assigned.items():
        update_secret(name, originals[kind], kind)
    assert get_all() == dummies
    assert clock.within_max_age()
    clock.wait_past()
    assert get_all() == originals


@secrets_manager.cache(name=decorated["normal"])
def normal_call(event, context):
    return context


@secrets_manager.cache(name=decorated["ttl"], max_age_in_seconds=MAX_AGE)
def call_with_ttl(event, context):
    return context


@secrets_manager.cache(name=decorated["entry"], max_age_in_seconds=MAX_AGE,
                       entry_name="new_secret")
def call_with_entry_name(event, context):
    return context


@secrets_manager.cache(name=decorated["binary"], max_age_in_seconds=MAX_AGE,
                       entry_name="binary_secret")
def call_binary(event, context):
    return context


def test_default_decorators():
    # lambda-cache's decorator_test for its four decorated functions at once. normal_call has
    # the default max age (60 s), which no test waits for: it is checked to stay cached.
    cases = [  # function, secret, entry name, type
        (call_with_ttl, decorated["ttl"], "secret_string", "String"),
        (call_with_entry_name, decorated["entry"], "new_secret", "String"),
        (call_binary, decorated["binary"], "binary_secret", "Binary"),
    ]
    original = {"String": secret_name_string_value, "Binary": secret_name_binary_value}

    def values():
        return [getattr(function({}, LambdaContext()), entry) for function, _, entry, _ in cases]

    clock = Clock()
    clock.fetching()
    assert normal_call({}, LambdaContext()).secret_string == secret_name_string_value
    assert values() == [original[kind] for *_, kind in cases]
    clock.fetched()
    for _, name, _, kind in cases:
        update_secret(name, dummy(kind, "updated"), kind)
    update_secret(decorated["normal"], "updated")
    assert values() == [original[kind] for *_, kind in cases]
    assert clock.within_max_age()
    clock.wait_past()
    clock.fetching()
    assert values() == [dummy(kind, "updated") for *_, kind in cases]
    clock.fetched()
    assert normal_call({}, LambdaContext()).secret_string == secret_name_string_value
    for _, name, _, kind in cases:
        update_secret(name, original[kind], kind)
    assert values() == [dummy(kind, "updated") for *_, kind in cases]
    assert clock.within_max_age()
    clock.wait_past()
    assert values() == [original[kind] for *_, kind in cases]


def test_invalid_parameters():
    with pytest.raises(ArgumentTypeNotSupportedError) as e:
        secrets_manager.get_entry(name=123, entry_name="dummy")
    assert e.value.Code == "ArgumentTypeNotSupportedError"
    with pytest.raises(NoEntryNameError) as e:
        secrets_manager.get_entry(name=123)
    assert e.value.Code == "NoEntryNameError"
