-- mcp_get.lua - wrk scenario: the `get` scenario's reads as MCP tool calls,
-- POST /mcp {"method": "tools/call", "params": {"name": "get_contact"}},
-- with the same ids and keys, so its rate compares with get's in one run
-- (issue 13: at most 15% dearer). An isError answer counts as a failure,
-- as a non-2xx does. See common.lua.
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
         local h = auth(toks[(i - 1) % #toks + 1])
         h["Content-Type"] = "application/json"
         local body = '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":' ..
            '{"name":"get_contact","arguments":{"id":"' .. id .. '"}}}'
         table.insert(reqs, wrk.format("POST", "/mcp", h, body))
      end
   end
end

function request()
   return reqs[math.random(#reqs)]
end

function response(status, headers, body)
   if not count_response(status, body) then return end
   if not string.find(body, '"isError":false', 1, true) then
      count_response(500, body)
   end
end
