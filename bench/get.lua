-- get.lua - wrk scenario: GET /v1/contacts/{id} for ids sampled over the
-- whole table, each asked with a key of the id's own workspace (keys and
-- workspaces rotate). See common.lua for the shared parts.
dofile("bench/common.lua")

local reqs = {}

function prepare(data)
   local by_ws = {}
   for i, ws in ipairs(data.token_ws) do
      by_ws[ws] = by_ws[ws] or {}
      table.insert(by_ws[ws], data.tokens[i])
   end
   for ws, ids in ipairs(data.ids) do
      local toks = by_ws[ws]
      for i, id in ipairs(ids) do
         local tok = toks[(i - 1) % #toks + 1]
         table.insert(reqs, wrk.format("GET", "/v1/contacts/" .. id, auth(tok)))
      end
   end
end

function request()
   return reqs[math.random(#reqs)]
end
