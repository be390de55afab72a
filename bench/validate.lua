-- validate.lua - wrk scenario: POST /v1/analytics/events/validate of 004's
-- example event (the first_contact_created definition with its two
-- properties, set up by run.sh in a workspace of its own), rotating over
-- that workspace's keys. The file $BENCH_VALIDATE_DATA (written by run.sh)
-- holds the keys; see common.lua for the shared parts.
dofile("bench/common.lua")

local reqs = {}

function prepare(data)
   local path = os.getenv("BENCH_VALIDATE_DATA")
   if not path then error("validate.lua: BENCH_VALIDATE_DATA is not set (run.sh sets it)") end
   local v = dofile(path)
   local body = '{"name":"first_contact_created","properties":'
      .. '{"workspace_id":"ws_bench","tenant_id":"tenant_42"}}'
   for _, tok in ipairs(v.tokens) do
      local h = auth(tok)
      h["Content-Type"] = "application/json"
      table.insert(reqs, wrk.format("POST", "/v1/analytics/events/validate", h, body))
   end
end

function request()
   return reqs[math.random(#reqs)]
end
