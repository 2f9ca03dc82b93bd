"""lambda-cache's SSM tests (test_ssm_cache.py, test_ssm_param_assignment.py,
test_ssm_multi_param.py, test_ssm_invalid.py) with the import renamed: see lambda_cache_port."""

import pytest
from botocore.exceptions import ClientError

from lambda_cache_port import MAX_AGE, Clock, LambdaContext, prefix, update_parameter
from sidecache import ssm
from sidecache.exceptions import ArgumentTypeNotSupportedError, NoEntryNameError

P = prefix()
ssm_parameter = f"{P}/something"
ssm_parameter_value = "Dummy Value 1"
ssm_parameter_default_name = "something"
ssm_parameter_replaced_var_name = "variable_1"
ssm_parameter_2 = f"{P}/test/something_else"
ssm_parameter_2_value = "Dummy Value 2"
ssm_parameter_2_default_name = "something_else"
secure_parameter = f"{P}/test/secure/somethingsecure"
secure_parameter_value = "This is secure"
secure_parameter_default_name = "somethingsecure"
long_name_parameter = f"{P}/test/this/is/a/long/parameter/value/zzzzzzz/9/10/11"
long_name_value = "Long name"
long_name_default_name = "11"
string_list_parameter = f"{P}/list/test/somelist"
string_list_value = "a,b,c"
string_list_default_name = "somelist"
default_entry_name = "context_lambda_cache"
# Each case that changes values upstream has parameters of its own: they run side by side.
invalidate_parameter = f"{P}/invalidate/something"
no_cache_parameter = f"{P}/no_cache/something"
multi = [f"{P}/multi/something", f"{P}/multi/something_else", f"{P}/multi/somelist",
         f"{P}/multi/somethingsecure"]
assigned = {"String": f"{P}/assign/something", "SecureString": f"{P}/assign/somethingsecure",
            "StringList": f"{P}/assign/somelist"}


def initialize():
    update_parameter(ssm_parameter, ssm_parameter_value)
    update_parameter(ssm_parameter_2, ssm_parameter_2_value)
    update_parameter(secure_parameter, secure_parameter_value, "SecureString")
    update_parameter(long_name_parameter, long_name_value)
    update_parameter(string_list_parameter, string_list_value, "StringList")
    update_parameter(invalidate_parameter, ssm_parameter_value)
    update_parameter(no_cache_parameter, ssm_parameter_value)
    for name, value, kind in zip(multi, [ssm_parameter_value, ssm_parameter_2_value,
                                         string_list_value, secure_parameter_value],
                                 ["String", "String", "StringList", "SecureString"]):
        update_parameter(name, value, kind)
    update_parameter(assigned["String"], ssm_parameter_value)
    update_parameter(assigned["SecureString"], secure_parameter_value, "SecureString")
    update_parameter(assigned["StringList"], string_list_value, "StringList")


@pytest.fixture(scope="module", autouse=True)
def initialized():
    initialize()


# --- test_ssm_cache.py ------------------------------------------------------------------

@ssm.cache(parameter=ssm_parameter)
def single_var_handler(event, context):
    return context


@ssm.cache(parameter=ssm_parameter)
@ssm.cache(parameter=ssm_parameter_2)
def double_var_handler(event, context):
    return context


@ssm.cache(parameter=long_name_parameter)
def long_name_var_handler(event, context):
    return context


def test_var_handlers():
    context = single_var_handler({"event_name": "test"}, LambdaContext())
    assert getattr(context, ssm_parameter_default_name) == ssm_parameter_value
    context = double_var_handler({"event_name": "test"}, LambdaContext())
    assert getattr(context, ssm_parameter_default_name) == ssm_parameter_value
    assert getattr(context, ssm_parameter_2_default_name) == ssm_parameter_2_value
    context = long_name_var_handler({"event_name": "test"}, LambdaContext())
    assert getattr(context, long_name_default_name) == long_name_value


@ssm.cache(parameter=f"{P}/ttl/something", max_age_in_seconds=MAX_AGE)
def five_second_ttl(event, context):
    return context


@ssm.cache(parameter=f"{P}/renamed/something", entry_name=ssm_parameter_replaced_var_name,
           max_age_in_seconds=MAX_AGE)
def renamed_var(event, context):
    return context


@ssm.cache(parameter=f"{P}/secure/somethingsecure", max_age_in_seconds=MAX_AGE)
def secure_var_handler(event, context):
    return context


@ssm.cache(parameter=f"{P}/stringlist/somelist", max_age_in_seconds=MAX_AGE)
def string_list(event, context):
    return context


def test_decorated_functions():
    # lambda-cache's decorator_test, for its four decorated functions at once.
    cases = [  # function, parameter, entry name, value as returned, type
        (five_second_ttl, f"{P}/ttl/something", ssm_parameter_default_name,
         ssm_parameter_value, "String"),
        (renamed_var, f"{P}/renamed/something", ssm_parameter_replaced_var_name,
         ssm_parameter_value, "String"),
        (secure_var_handler, f"{P}/secure/somethingsecure", secure_parameter_default_name,
         secure_parameter_value, "SecureString"),
        (string_list, f"{P}/stringlist/somelist", string_list_default_name,
         string_list_value.split(","), "StringList"),
    ]
    for _, name, _, value, kind in cases:
        update_parameter(name, ",".join(value) if kind == "StringList" else value, kind)
    clock = Clock()

    def values():
        return [getattr(function({"event_name": "test"}, LambdaContext()), entry)
                for function, _, entry, _, _ in cases]

    clock.fetching()
    assert values() == [value for _, _, _, value, _ in cases]
    clock.fetched()
    # Updated, but called before max_age_in_seconds: the cached values.
    for _, name, _, _, kind in cases:
        update_parameter(name, "d,e,f" if kind == "StringList" else "updated", kind)
    assert values() == [value for _, _, _, value, _ in cases]
    assert clock.within_max_age()
    # Past max_age_in_seconds: the updated values.
    clock.wait_past()
    clock.fetching()
    assert values() == [["d", "e", "f"] if kind == "StringList" else "updated"
                        for _, _, _, _, kind in cases]
    clock.fetched()
    # Reverted, and past max_age_in_seconds again.
    for _, name, _, value, kind in cases:
        update_parameter(name, ",".join(value) if kind == "StringList" else value, kind)
    clock.wait_past()
    assert values() == [value for _, _, _, value, _ in cases]


@ssm.cache(parameter=invalidate_parameter, max_age_in_seconds=MAX_AGE)
def invalidate_cache(event, context):
    if event.get("refresh", False):
        result = ssm.get_entry(invalidate_parameter, max_age_in_seconds=0)
        setattr(context, ssm_parameter_default_name, result)
    return context


def test_invalidate_cache():
    updated_value = "Dummy Value NEW!!"
    clock = Clock()
    clock.fetching()
    context = invalidate_cache({}, LambdaContext())
    clock.fetched()
    assert getattr(context, ssm_parameter_default_name) == ssm_parameter_value
    update_parameter(invalidate_parameter, updated_value)
    context = invalidate_cache({}, LambdaContext())
    assert getattr(context, ssm_parameter_default_name) == ssm_parameter_value
    assert clock.within_max_age()
    clock.wait_past()
    context = invalidate_cache({}, LambdaContext())
    assert getattr(context, ssm_parameter_default_name) == updated_value
    # Reverted upstream, read at once with a forced refresh.
    update_parameter(invalidate_parameter, ssm_parameter_value)
    context = invalidate_cache({"refresh": True}, LambdaContext())
    assert getattr(context, ssm_parameter_default_name) == ssm_parameter_value


@ssm.cache(parameter=no_cache_parameter, max_age_in_seconds=0)
def no_cache(event, context):
    return context


def test_no_cache():
    context = no_cache({"event_name": "test"}, LambdaContext())
    assert getattr(context, ssm_parameter_default_name) == ssm_parameter_value
    update_parameter(no_cache_parameter, "New Value")
    context = no_cache({"event_name": "test"}, LambdaContext())
    assert getattr(context, ssm_parameter_default_name) == "New Value"
    update_parameter(no_cache_parameter, ssm_parameter_value)
    context = no_cache({"event_name": "test"}, LambdaContext())
    assert getattr(context, ssm_parameter_default_name) == ssm_parameter_value


# --- test_ssm_param_assignment.py -------------------------------------------------------

def test_get_parameter():
    # lambda-cache's parameter_assignment, for String, SecureString and StringList at once.
    originals = {"String": ssm_parameter_value, "SecureString": secure_parameter_value,
                 "StringList": string_list_value}
    dummies = {"String": "get_dummy", "SecureString": "get_dummy", "StringList": "d,e,f"}

    def returned(values):
        return {kind: value.split(",") if kind == "StringList" else value
                for kind, value in values.items()}

    def get_all():
        return {kind: ssm.get_entry(parameter=name, max_age_in_seconds=MAX_AGE)
                for kind, name in assigned.items()}

    clock = Clock()
    clock.fetching()
    assert get_all() == returned(originals)
    clock.fetched()
    for kind, name in assigned.items():
        update_parameter(name, dummies[kind], kind)
    assert get_all() == returned(originals)
    assert clock.within_max_age()
    clock.wait_past()
    clock.fetching()
    assert get_all() == returned(dummies)
    clock.fetched()
    assert get_all() == returned(dummies)
    clock.wait_past()
    for kind, name in assigned.items():
        update_parameter(name, originals[kind], kind)
    assert get_all() == returned(originals)


# --- test_ssm_multi_param.py ------------------------------------------------------------

@ssm.cache(parameter=multi, entry_name=default_entry_name, max_age_in_seconds=MAX_AGE)
def multi_parameters(event, context):
    return context


def test_multi_parameters():
    dummy_string, dummy_list = "__", "-,--,---"
    originals = {"something": ssm_parameter_value, "something_else": ssm_parameter_2_value,
                 "somelist": string_list_value.split(","),
                 "somethingsecure": secure_parameter_value}
    dummies = {"something": dummy_string, "something_else": dummy_string,
               "somelist": dummy_list.split(","), "somethingsecure": dummy_string}

    def update_all(values):
        for name, kind in zip(multi, ["String", "String", "StringList", "SecureString"]):
            value = values[name.split("/")[-1]]
            update_parameter(name, ",".join(value) if kind == "StringList" else value, kind)

    def group():
        return getattr(multi_parameters({}, LambdaContext()), default_entry_name)

    clock = Clock()
    clock.fetching()
    assert group() == originals
    clock.fetched()
    update_all(dummies)
    assert group() == originals
    assert clock.within_max_age()
    clock.wait_past()
    clock.fetching()
    assert group() == dummies
    clock.fetched()
    update_all(originals)  # lambda-cache's test_initialize()
    assert group() == dummies
    assert clock.within_max_age()
    clock.wait_past()
    assert group() == originals


# --- test_ssm_invalid.py ----------------------------------------------------------------

@ssm.cache(parameter="/some/nonexist/parameter")
def parameter_not_exist_var_handler(event, context):
    return context


def test_non_existing_parameter():
    with pytest.raises(ClientError) as e:
        parameter_not_exist_var_handler({"event_name": "test"}, LambdaContext())
    assert e.value.response["Error"]["Code"] == "ParameterNotFound"


# Applied at import, as in lambda-cache: the module imports; the call raises.
@ssm.cache(parameter=123, entry_name="hello")
def invalid_parameter(event, context):
    return context


def test_invalid_parameter():
    with pytest.raises(ArgumentTypeNotSupportedError) as e:
        invalid_parameter({}, LambdaContext())
    assert e.value.Code == "ArgumentTypeNotSupportedError"
    with pytest.raises(NoEntryNameError) as e:
        ssm.get_entry(parameter=123, max_age_in_seconds=4)
    assert e.value.Code == "NoEntryNameError"
    with pytest.raises(NoEntryNameError) as e:
        ssm.get_entry(parameter={"dummy": "dict"}, max_age_in_seconds=2)
    assert e.value.Code == "NoEntryNameError"
    with pytest.raises(ArgumentTypeNotSupportedError) as e:
        ssm.get_entry(parameter=123, max_age_in_seconds=2, entry_name="hello")
    assert e.value.Code == "ArgumentTypeNotSupportedError"
    with pytest.raises(ArgumentTypeNotSupportedError) as e:
        ssm.get_entry(parameter=(123, 123), max_age_in_seconds=2, entry_name="hello")
    assert e.value.Code == "ArgumentTypeNotSupportedError"
    with pytest.raises(NoEntryNameError) as e:
        ssm.get_entry(parameter=["abc", "_"], max_age_in_seconds=2)
    assert e.value.Code == "NoEntryNameError"
