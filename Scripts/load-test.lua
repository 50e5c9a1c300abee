-- wrk script for Scripts/load-test.sh: each request POSTs one sentence to
-- /v1/translate, cycling through the JSON bodies (one per line) in the file
-- named by $BODIES. At the end it prints one machine-readable RESULT line.
local bodies = {}
for line in io.lines(os.getenv("BODIES")) do bodies[#bodies + 1] = line end
local next_body = 0

wrk.method = "POST"
wrk.path = "/v1/translate"
wrk.headers["Content-Type"] = "application/json"

request = function()
    next_body = next_body % #bodies + 1
    return wrk.format(nil, nil, nil, bodies[next_body])
end

done = function(summary, latency, requests)
    local e = summary.errors
    io.write(string.format(
        "RESULT requests=%d seconds=%.3f p50_ms=%.2f p99_ms=%.2f non2xx=%d socket_errors=%d\n",
        summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000,
        latency:percentile(99) / 1000, e.status, e.connect + e.read + e.write + e.timeout))
end
