-- wh_create.lua - webhooks.sh's writes: POST /v1/contacts with the token
-- given after "--"; a second argument N paces each connection to one
-- request N ms after each answer (webhooks.sh: 14 connections at 10 ms,
-- a little over 1,000 writes/s).
local token, pace
local n = 0
bad = 0

function init(args)
   token, pace = args[1], tonumber(args[2] or "0")
   math.randomseed(os.time() + (tid or 0))
end

function request()
   n = n + 1
   local body = string.format('{"first_name":"Ada","last_name":"Hook","email":"ada.%d.%d@example.com"}',
      math.random(1000000000), n)
   return wrk.format("POST", "/v1/contacts",
      { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json" }, body)
end

function delay()
   return pace
end

function response(status)
   if status ~= 201 then bad = bad + 1 end
end

function done(summary, latency, requests)
   io.write(string.format("BENCH_RESULT requests=%d rps=%.0f p50_ms=%.2f p99_ms=%.2f non2xx=%d errors=%d\n",
      summary.requests, summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000,
      latency:percentile(99) / 1000, summary.errors.status, summary.errors.connect + summary.errors.read +
      summary.errors.write + summary.errors.timeout))
end
