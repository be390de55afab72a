-- feed.lua - webhooks.sh's change feed pages: GET /v1/events?after=S&limit=20
-- for S random below the workspace's last sequence (args: token, last).
local token, last

function init(args)
   token, last = args[1], tonumber(args[2])
   math.randomseed(os.time() + (tid or 0))
end

function request()
   local after = math.random(0, math.max(0, last - 20))
   return wrk.format("GET", "/v1/events?limit=20&after=" .. after,
      { ["Authorization"] = "Bearer " .. token })
end

function done(summary, latency, requests)
   io.write(string.format("BENCH_RESULT requests=%d rps=%.0f p50_ms=%.2f p99_ms=%.2f non2xx=%d errors=%d\n",
      summary.requests, summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000,
      latency:percentile(99) / 1000, summary.errors.status, summary.errors.connect + summary.errors.read +
      summary.errors.write + summary.errors.timeout))
end
