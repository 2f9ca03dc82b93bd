"""A handler written for lambda-cache, import renamed, meets lambda-cache's errors at
lambda-cache's moments (issue 16, item 5), against a live sidecache."""

import importlib.util
import pickle
import sys

import pytest
from botocore.exceptions import ClientError

import sidecache
from conftest import Context
from sidecache import errors, s3, secrets_manager, ssm
from sidecache.exceptions import (ArgumentTypeNotSupportedError, InvalidS3UriError,
                                  LambdaCacheError, NoEntryNameError)

# A lambda-cache handler module whose decorators have invalid arguments: lambda-cache imports
# it, and raises only when the handler is called.
INVALID_HANDLERS = '''
from sidecache import s3, ssm

@s3.cache(s3Uri="L3:--/bucket/key.json", max_age_in_seconds=5)
def invalid_uri(event, context):
    return "ran"

@ssm.cache(parameter=123, entry_name="hello")
def invalid_parameter(event, context):
    return "ran"

@ssm.cache(parameter=[1, 2], entry_name="numbers")
def list_of_numbers(event, context):
    return "ran"
'''


def test_exceptions_module_has_lambda_cache_classes_and_attributes():
    from sidecache import entries, exceptions

    for name in ("LambdaCacheError", "ArgumentTypeNotSupportedError", "NoEntryNameError",
                 "InvalidS3UriError"):
        assert getattr(exceptions, name) is getattr(entries, name)  # one class, two homes
    assert issubclass(NoEntryNameError, LambdaCacheError)
    error = ArgumentTypeNotSupportedError("m")
    assert (error.message, error.Code) == ("m", "ArgumentTypeNotSupportedError")
    assert (NoEntryNameError().message, NoEntryNameError().Code) == (
        "No entry_name provided", "NoEntryNameError")
    error = InvalidS3UriError("x://y")
    assert error.Code == "InvalidS3UriError" and error.message.endswith("given: x://y")
    # `import sidecache` alone reaches them, as `import lambda_cache` reaches lambda_cache.ssm.
    assert sidecache.exceptions is exceptions and sidecache.ssm is ssm


def test_invalid_decorator_arguments_raise_when_called_not_at_import(tmp_path):
    path = tmp_path / "invalid_handlers.py"
    path.write_text(INVALID_HANDLERS)
    spec = importlib.util.spec_from_file_location("invalid_handlers", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # imports: nothing raised
    with pytest.raises(InvalidS3UriError):
        module.invalid_uri({}, Context())
    with pytest.raises(ArgumentTypeNotSupportedError):
        module.invalid_parameter({}, Context())
    with pytest.raises(ArgumentTypeNotSupportedError):
        module.list_of_numbers({}, Context())


@pytest.mark.parametrize("module, keyword", [(ssm, "parameter"), (secrets_manager, "name"),
                                             (s3, "s3Uri")])
@pytest.mark.parametrize("argument", [123, ["a", "b"], {"a": "b"}])
def test_a_non_string_name_without_entry_name_is_no_entry_name_error(module, keyword, argument):
    with pytest.raises(NoEntryNameError):
        module.get_entry(**{keyword: argument})
    handler = module.cache(**{keyword: argument})(lambda event, context: "ran")
    with pytest.raises(NoEntryNameError):
        handler({}, Context())


@pytest.mark.parametrize("argument", [("a", "b"), (1, 2), None, 1.5])
def test_a_tuple_or_other_type_is_argument_type_not_supported(argument):
    for entry_name in (None, "named"):
        with pytest.raises(ArgumentTypeNotSupportedError):
            ssm.get_entry(parameter=argument, entry_name=entry_name)


@pytest.mark.parametrize("argument", [[1, 2], ["/a", 2], [None], [b"/bytes"]])
def test_a_list_of_non_strings_is_argument_type_not_supported_not_a_type_error(argument):
    with pytest.raises(ArgumentTypeNotSupportedError):
        ssm.get_entry(parameter=argument, entry_name="group")


def test_not_found_is_a_client_error_with_the_aws_code_and_a_sidecache_error(seeded):
    cases = [
        (lambda: ssm.get_entry(parameter=seeded.name("absent")), "ParameterNotFound",
         "GetParameter"),
        (lambda: secrets_manager.get_entry(name="clients/python/absent"),
         "ResourceNotFoundException", "GetSecretValue"),
        (lambda: s3.get_entry(s3Uri=f"s3://{seeded.bucket}/python/absent.json"), "NoSuchKey",
         "GetObject"),
    ]
    for read, code, operation in cases:
        try:
            read()
        except ClientError as e:  # as a handler written for lambda-cache catches it
            assert e.response["Error"]["Code"] == code
            assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 404
            assert e.operation_name == operation
            assert isinstance(e, sidecache.NotFound) and isinstance(e, sidecache.SidecacheError)
            assert (e.status, e.error_type) == (404, code)
            # It survives pickling (multiprocessing hands exceptions over so).
            copy = pickle.loads(pickle.dumps(e))
            assert type(copy) is type(e) and copy.response == e.response
        else:
            raise AssertionError(f"{code}: nothing raised")


def test_a_decorated_handler_missing_its_parameter_raises_client_error(seeded):
    @ssm.cache(parameter=seeded.name("absent-too"))
    def handler(event, context):
        raise AssertionError("the handler must not run without its parameter")

    with pytest.raises(ClientError) as raised:
        handler({}, Context())
    assert raised.value.response["Error"]["Code"] == "ParameterNotFound"


def test_other_4xx_are_client_errors_too_and_5xx_are_not():
    assert isinstance(errors.make_error(403, "AccessDeniedException", "m"), ClientError)
    assert isinstance(errors.make_error(429, "ThrottlingException", "m"), ClientError)
    assert not isinstance(errors.make_error(502, "UpstreamUnreachable", "m"), ClientError)


def test_without_botocore_not_found_is_still_the_sidecache_error(seeded, monkeypatch):
    monkeypatch.setitem(sys.modules, "botocore", None)  # import botocore raises ImportError
    monkeypatch.setitem(sys.modules, "botocore.exceptions", None)
    monkeypatch.setattr(errors, "_with_client_error", {})
    with pytest.raises(sidecache.NotFound) as raised:
        ssm.get_entry(parameter=seeded.name("absent"))
    assert type(raised.value) is errors.NotFound
    assert raised.value.error_type == "ParameterNotFound"
