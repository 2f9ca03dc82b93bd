-- wrk script for scripts/bench.sh.
--
-- BENCH_KEYS=N with BENCH_PREFIX=/path?name=/bench/p: each request asks for the next of
-- <prefix>0 .. <prefix>N-1 in turn (per wrk thread), with the headers given by -H (the token).
-- Without BENCH_KEYS every request is the URL given on the command line.
--
-- done() prints one machine-readable line that run.py parses, so nothing depends on the layout
-- of wrk's human output: latencies are in microseconds from wrk's own histogram.

local keys = tonumber(os.getenv("BENCH_KEYS") or "0") or 0
local prefix = os.getenv("BENCH_PREFIX") or ""

if keys > 0 then
  local paths = {}
  for i = 0, keys - 1 do
    paths[i + 1] = prefix .. i
  end
  local n = 0
  function request()
    n = n + 1
    if n > keys then
      n = 1
    end
    return wrk.format(nil, paths[n])
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH requests=%d duration_us=%d bytes=%d p50_us=%d p99_us=%d mean_us=%d max_us=%d status_errors=%d socket_errors=%d\n",
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(99), latency.mean, latency.max,
    e.status, e.connect + e.read + e.write + e.timeout))
end
