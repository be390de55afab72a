-- tickets.lua - wrk scenario: the first page of the breached tickets,
-- GET /v1/support/tickets?sla_status=breached&limit=20, in the workspace
-- holding the generator's BENCH_TICKETS tickets (a year of them, about one
-- in ten breached), with that workspace's keys. See common.lua.
dofile("bench/common.lua")

local reqs = {}

function prepare(data)
   for i, ws in ipairs(data.token_ws) do
      if ws == data.tickets_ws then
         table.insert(reqs, wrk.format("GET", "/v1/support/tickets?sla_status=breached&limit=20",
                                       auth(data.tokens[i])))
      end
   end
end

function request()
   return reqs[math.random(#reqs)]
end
