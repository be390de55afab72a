-- mcp_tools.lua - wrk scenario: POST /mcp tools/list (the default tool
-- sets, first page) with keys rotating over the workspaces; issue 13's
-- target is its p99. See common.lua.
dofile("bench/common.lua")

local reqs = {}

function prepare(data)
   for _, tok in ipairs(data.tokens) do
      local h = auth(tok)
      h["Content-Type"] = "application/json"
      table.insert(reqs, wrk.format("POST", "/mcp", h,
                                    '{"jsonrpc":"2.0","id":1,"method":"tools/list"}'))
   end
end

function request()
   return reqs[math.random(#reqs)]
end

function response(status, headers, body)
   if not count_response(status, body) then return end
   if not string.find(body, '"tools":[{', 1, true) then
      count_response(500, body)
   end
end
