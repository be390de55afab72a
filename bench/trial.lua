-- trial.lua - wrk scenario: GET /v1/accounting/trial-balance (every
-- account's debits, credits and balance over all days) of the workspace
-- whose ledger the generator filled (BENCH_JOURNAL_LINES lines over a
-- year, on a chart of 37 accounts), with that workspace's keys. The
-- server reads it from the journal lines' rollup (a group per account,
-- side and day), not the lines. See common.lua.
dofile("bench/common.lua")

local reqs = {}

function prepare(data)
   for i, ws in ipairs(data.token_ws) do
      if ws == data.ledger_ws then
         table.insert(reqs, wrk.format("GET", "/v1/accounting/trial-balance",
                                       auth(data.tokens[i])))
      end
   end
end

function request()
   return reqs[math.random(#reqs)]
end
