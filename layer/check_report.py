"""The ok/FAIL lines of the layer checks (check_lambda.py, check_contents.py), counted so that
each script exits non-zero when any check failed."""

failures = 0


def ok(what):
    print(f"  ok    {what}", flush=True)


def fail(what):
    global failures
    failures += 1
    print(f"  FAIL  {what}", flush=True)


def exit_status():
    """1 when any check failed, else 0."""
    return 1 if failures else 0
