-- wrk script for bench/serve_load.sh: one Hrana pipeline per request (execute SELECT 1, then close), and the
-- latency percentiles printed in a line the shell script reads.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
-- tursodb --sync-server knows only execute and batch: serve_load.sh sends it the pipeline without the close.
wrk.body = os.getenv("SERVE_LOAD_BODY") or '{"requests":[{"type":"execute","stmt":{"sql":"SELECT 1"}},{"type":"close"}]}'

done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.status + summary.errors.timeout
  io.write(string.format("RESULT req_s=%.0f p50_ms=%.3f p99_ms=%.3f requests=%d errors=%d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.requests, errors))
end
