-- journal.lua - wrk scenario: POST /v1/accounting/journal-entries, a
-- posted entry of two lines naming their accounts by code: a debit to cash
-- (1000) and a credit to receivable (1100) of the same random amount
-- ($1 to $100,000), as a payment received. Every workspace has those two
-- in its default chart; keys and workspaces rotate. Each request writes the
-- entry, its two journal lines and their rollup groups (account, side,
-- today). Bodies are built up front and reused. See common.lua.
dofile("bench/common.lua")

local reqs = {}

function prepare(data)
   for i = 1, 4000 do
      local cents = math.random(100, 10000000)
      local body = string.format(
         '{"status":"posted","lines":[{"account_code":"1000","debit_cents":%d},' ..
         '{"account_code":"1100","credit_cents":%d}]}', cents, cents)
      local h = auth(data.tokens[(i - 1) % #data.tokens + 1])
      h["Content-Type"] = "application/json"
      table.insert(reqs, wrk.format("POST", "/v1/accounting/journal-entries", h, body))
   end
end

function request()
   return reqs[math.random(#reqs)]
end
