"""What a cold start loads: `import sidecache` and the first values import no HTTP library,
no JSON or regex module, no botocore; an error path loads botocore, and only then.

Measured in a new interpreter (`-S`: no site-packages preloading anything) against the live
sidecache. How much CPU this saves is `clients/python/bench/cold.py`'s to measure, not a test's.
"""

import os
import subprocess
import sys

import sidecache

PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(sidecache.__file__)))
# Modules that the cold path must not import: each costs milliseconds (http.client pulls in
# email; json and urllib.parse pull in re), and botocore tens of them.
HEAVY = ("http", "http.client", "email", "urllib", "urllib.parse", "urllib.request", "json",
         "_json", "re", "botocore", "threading", "base64", "tempfile", "shutil", "random",
         "sidecache.errors", "sidecache.exceptions", "sidecache.jsonreader", "sidecache.ssm",
         "sidecache.s3",
         "sidecache.powertools", "sidecache.appconfig")


def loaded_after(code):
    """The heavy modules loaded once `code` ran in a fresh interpreter."""
    script = (f"import sys\nsys.path.insert(0, {PACKAGE_PARENT!r})\n{code}\n"
              f"print(' '.join(m for m in {HEAVY!r} if m in sys.modules))")
    result = subprocess.run([sys.executable, "-S", "-c", script], capture_output=True,
                            text=True, timeout=60, env=os.environ)
    assert result.returncode == 0, result.stderr
    return set(result.stdout.split())


def test_import_and_first_values_load_nothing_heavy(seeded):
    code = (f"import sidecache\n"
            f"client = sidecache.default_client()\n"
            f"assert client.parameter({seeded.name('greeting')!r}).startswith('hello python')\n"
            f"assert client.parameter({seeded.name('list')!r})[1:] == ['b', 'c']\n"
            f"assert isinstance(client.secret('clients/python/api'), str)\n"
            f"assert isinstance(client.secret('clients/python/blob'), bytes)\n")
    assert loaded_after(code) == set()


def test_lambda_cache_decorators_load_nothing_heavy_beyond_their_modules(seeded):
    code = (f"from sidecache import ssm, secrets_manager, s3\n"
            f"assert ssm.get_entry({seeded.name('greeting')!r}).startswith('hello python')\n"
            f"assert secrets_manager.get_entry('clients/python/api')\n")
    assert loaded_after(code) == {"sidecache.ssm", "sidecache.s3"}


def test_appconfig_reads_load_only_what_they_need(seeded):
    app, env = seeded.application, seeded.environment
    code = (f"from sidecache import appconfig\n"
            f"assert appconfig.get_app_config('settings', {env!r}, {app!r}).startswith(b'{{')\n")
    assert loaded_after(code) == {"sidecache.appconfig"}
    # JSON (a transform, a flag) is read with json's C scanner alone, not json and re.
    code = (f"from sidecache import appconfig\n"
            f"assert appconfig.get_app_config('settings', {env!r}, {app!r}, transform='json')\n"
            f"assert appconfig.is_enabled('new_ui', 'flags', {env!r}, {app!r})\n")
    assert loaded_after(code) == {"sidecache.appconfig", "sidecache.jsonreader", "_json"}


def test_an_error_loads_botocore_then_and_only_then(seeded):
    code = (f"import sidecache\n"
            f"try:\n"
            f"    sidecache.default_client().parameter({seeded.name('absent')!r})\n"
            f"except sidecache.NotFound as e:\n"
            f"    assert e.response['Error']['Code'] == 'ParameterNotFound'\n")
    # -S leaves site-packages, where botocore is, off sys.path: put it back for this one.
    botocore_parent = os.path.dirname(os.path.dirname(__import__("botocore").__file__))
    code = f"sys.path.append({botocore_parent!r})\n" + code
    assert {"botocore", "sidecache.errors"} <= loaded_after(code)
