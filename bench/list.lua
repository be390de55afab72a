-- list.lua - wrk scenario: the first page of a filtered list,
-- GET /v1/contacts?status=active&limit=20, with rotating keys and
-- workspaces. See common.lua for the shared parts.
dofile("bench/common.lua")

local reqs = {}

function prepare(data)
   for _, tok in ipairs(data.tokens) do
      table.insert(reqs, wrk.format("GET", "/v1/contacts?status=active&limit=20", auth(tok)))
   end
end

function request()
   return reqs[math.random(#reqs)]
end
