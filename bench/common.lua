-- common.lua - shared by the wrk scenario scripts (bench/*.lua).
--
-- Each scenario script does `dofile("bench/common.lua")` (wrk runs from the
-- repository root) and defines prepare(data), which builds its requests,
-- and request(). This file provides the rest:
--   * init(args): loads the generator's data file (args[1]), seeds the
--     random generator per thread, calls prepare(data);
--   * response(): counts responses that are not 2xx per thread, keeping the
--     first one's status and body for the report (a run of 401s must not
--     pass for a fast server);
--   * done(): prints one machine-readable line for bench/run.sh:
--     BENCH_RESULT requests=.. rps=.. p50_ms=.. p99_ms=.. non2xx=.. errors=..
--
-- Helpers for scripts: auth(token), pick(list), urlencode(s).

local threads = {}

function setup(thread)
   table.insert(threads, thread)
   thread:set("tid", #threads)
end

-- Per-thread state (each wrk thread has its own Lua state).
bad = 0
first_bad = nil

function auth(token)
   return { ["Authorization"] = "Bearer " .. token }
end

function pick(list)
   return list[math.random(#list)]
end

function urlencode(s)
   return (s:gsub("[^%w%-%._~]", function(c)
      return string.format("%%%02X", string.byte(c))
   end))
end

function init(args)
   local path = args[1]
   if not path then
      error("usage: wrk ... -s bench/<scenario>.lua URL -- build/bench/data.lua")
   end
   local data = dofile(path)
   math.randomseed((tid or 1) * 7919 + os.time())
   prepare(data)
end

-- Scripts that read bodies (cursor.lua) wrap this.
function count_response(status, body)
   if status < 200 or status > 299 then
      bad = bad + 1
      if not first_bad then
         first_bad = status .. " " .. string.sub(body or "", 1, 300)
      end
      return false
   end
   return true
end

function response(status, headers, body)
   count_response(status, body)
end

function done(summary, latency, requests)
   local nbad, first, firsts = 0, nil, nil
   for _, t in ipairs(threads) do
      nbad = nbad + (t:get("bad") or 0)
      first = first or t:get("first_bad")
      local fp = t:get("first_pages") -- cursor.lua only
      if fp then firsts = (firsts or 0) + fp end
   end
   local e = summary.errors
   local secs = summary.duration / 1e6
   io.write(string.format(
      "BENCH_RESULT requests=%d rps=%.1f p50_ms=%.3f p99_ms=%.3f non2xx=%d errors=%d\n",
      summary.requests, summary.requests / secs, latency:percentile(50) / 1000,
      latency:percentile(99) / 1000, nbad, e.connect + e.read + e.write + e.timeout))
   if firsts then
      io.write(string.format("BENCH_NOTE %d requests were first pages (cursor chains starting)\n",
                             firsts))
   end
   if first then
      io.write("BENCH_FIRST_BAD " .. first:gsub("\n", " ") .. "\n")
   end
end
