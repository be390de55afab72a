-- dashboard.lua - wrk scenario: GET /v1/dashboard (open pipeline value by
-- stage and currency, win rates, tasks, leads) with the keys of the
-- workspace holding the most deals (the first: its default pipeline's
-- share plus the Board pipeline's, so the board's 16 keys). See common.lua.
dofile("bench/common.lua")

local reqs = {}

function prepare(data)
   local toks = {}
   if data.dashboard_ws == data.board.ws then
      toks = data.board.tokens
   else
      for i, ws in ipairs(data.token_ws) do
         if ws == data.dashboard_ws then table.insert(toks, data.tokens[i]) end
      end
   end
   for _, tok in ipairs(toks) do
      table.insert(reqs, wrk.format("GET", "/v1/dashboard", auth(tok)))
   end
end

function request()
   return reqs[math.random(#reqs)]
end
