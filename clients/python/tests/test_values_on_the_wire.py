"""Values and names that the client's own query encoding and JSON reading must get exactly
right, compared with what boto3 reads from moto directly."""

import json

import pytest

import sidecache
from sidecache.client import string_field
from sidecache.connection import quote
from sidecache.jsonreader import loads

TRICKY_VALUES = [
    'with "quotes" inside',
    "a backslash \\ and \\n not a newline",
    "ends with a backslash \\",
    "unicode: é ü 漢字 🚀",
    "control\tcharacters\nand\rreturns",
    "looks like json: {\"Value\":\"x\",\"Type\":\"StringList\"}",
    '"',
    " leading and trailing spaces ",
]


@pytest.mark.parametrize("index", range(len(TRICKY_VALUES)))
def test_parameter_values_read_exactly(client, seeded, aws, index):
    name = seeded.name(f"wire/value-{index}")
    value = TRICKY_VALUES[index]
    aws.client("ssm").put_parameter(Name=name, Value=value, Type="String", Overwrite=True)
    assert client.parameter(name) == value
    assert client.parameter(name) == aws.client("ssm").get_parameter(Name=name)["Parameter"]["Value"]


def test_string_list_with_escapes_is_split_after_decoding(client, seeded, aws):
    name = seeded.name("wire/list")
    aws.client("ssm").put_parameter(Name=name, Value='a "1",b\\2,c é', Type="StringList",
                                    Overwrite=True)
    assert client.parameter(name) == ['a "1"', "b\\2", "c é"]


def test_names_that_need_percent_encoding(client, seeded, aws):
    # Secret names may hold /_+=.@- : "+" would be a space in a query, "=" and "@" are escaped.
    secret_id = f"clients/python/wire/a+b=c@d-{seeded.run}"
    aws.client("secretsmanager").create_secret(Name=secret_id, SecretString="plus é")
    assert client.secret(secret_id) == "plus é"
    parameter = seeded.name("wire/dots_and-dashes.v1")
    aws.client("ssm").put_parameter(Name=parameter, Value="v", Type="String", Overwrite=True)
    assert client.parameter(parameter) == "v"


def test_secret_string_that_looks_binary_stays_a_string(client, seeded, aws):
    secret_id = f"clients/python/wire/json-{seeded.run}"
    document = json.dumps({"k": "é", "n": 1})
    aws.client("secretsmanager").create_secret(Name=secret_id, SecretString=document)
    assert client.secret(secret_id) == document


def test_quote_leaves_unreserved_alone_and_escapes_the_rest():
    assert quote("/app/db-url_1.x~") == "/app/db-url_1.x~"
    assert quote("a b+c&d=e#f%g") == "a%20b%2Bc%26d%3De%23f%25g"
    assert quote("é") == "%C3%A9"


def test_string_field_refuses_escapes_and_loads_falls_back():
    text = '{"Parameter":{"Name":"/n","Type":"String","Value":"a\\"b"}}'
    assert string_field(text, "Type") == "String"
    assert string_field(text, "Value") is None  # an escape: the caller parses it all
    assert loads(text)["Parameter"]["Value"] == 'a"b'
    assert loads(b' {"a": [1, 2.5, null, true]} ') == {"a": [1, 2.5, None, True]}
    with pytest.raises(ValueError):
        loads(b'{"a": 1} trailing')
    with pytest.raises(ValueError):
        loads(b"")


def test_get_json_and_headers_any_case(client, seeded):
    headers, body = client.get("/systemsmanager/parameters/get", name=seeded.name("greeting"))
    assert headers["Content-Type"] == headers.get("content-type") == "application/json"
    assert "X-CACHE" in headers and client.last_cache_status in ("hit", "miss")
    assert loads(body)["Parameter"]["Name"] == seeded.name("greeting")
    assert isinstance(client.stats()["cache"]["hits"], int)
    assert sidecache.Client().get_json("/ping")["status"] == "ok"
