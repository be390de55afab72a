-- move.lua - wrk scenario: POST /v1/deals/{id}/move of random deals of the
-- "Board" pipeline to random open stages of it. Half the moves only name
-- the stage (the deal goes last there); the other half also name an
-- above_id: one of the anchor deals the generator pinned in that stage,
-- which this scenario never moves, so an anchor is always in the stage the
-- request names (a moved anchor would make the request a 400). Deals and
-- stages are drawn independently, so some moves stay within a stage.
-- Requests are built up front; the board's 16 keys rotate (the server
-- limits concurrent requests per key: 4 keys for 32 connections get 429s).
dofile("bench/common.lua")

local reqs = {}

function prepare(data)
   local b = data.board
   local toks = b.tokens
   for i = 1, 20000 do
      local s = math.random(#b.open_stages)
      local body
      local anchors = b.anchors[s]
      if i % 2 == 0 and #anchors > 0 then
         body = string.format('{"stage_id":"%s","above_id":"%s"}', b.open_stages[s],
                              pick(anchors))
      else
         body = string.format('{"stage_id":"%s"}', b.open_stages[s])
      end
      local h = auth(toks[(i - 1) % #toks + 1])
      h["Content-Type"] = "application/json"
      table.insert(reqs, wrk.format("POST", "/v1/deals/" .. pick(b.deals) .. "/move", h, body))
   end
end

function request()
   return reqs[math.random(#reqs)]
end
