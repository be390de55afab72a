-- board.lua - wrk scenario: GET /v1/pipelines/{id}/board (default limit,
-- 20 deals per stage) of the "Board" pipeline, which holds 10,000 deals in
-- its five stages, with the 16 keys the generator made for it (rotating).
-- See common.lua.
dofile("bench/common.lua")

local reqs = {}

function prepare(data)
   local b = data.board
   for _, tok in ipairs(b.tokens) do
      table.insert(reqs, wrk.format("GET", "/v1/pipelines/" .. b.pipeline .. "/board", auth(tok)))
   end
end

function request()
   return reqs[math.random(#reqs)]
end
