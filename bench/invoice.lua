-- invoice.lua - wrk scenario: POST /v1/invoices with 10 line items
-- (services, products and fees, quantities 1-20, unit prices $5 to $5,000,
-- tax rates 0-20%), rotating keys and workspaces. Each one is a draft the
-- server numbers (INV-nnnn from the workspace's sequence) and totals.
-- Bodies are built up front and reused. See common.lua.
dofile("bench/common.lua")

local reqs = {}
local kinds = { "service", "service", "product", "product", "fee" }
local names = { "Consulting hours", "Implementation", "Annual licence", "Support plan",
                "Training day", "Onboarding package", "Hardware kit", "Data migration",
                "Custom report", "Premium add-on", "Travel expenses", "Setup fee" }
local rates = { 0, 500, 800, 1000, 1900, 2000 }

function prepare(data)
   for i = 1, 4000 do
      local items = {}
      for k = 1, 10 do
         items[k] = string.format(
            '{"kind":"%s","name":"%s","quantity":%d,"unit_amount_cents":%d,"tax_rate_bps":%d}',
            pick(kinds), pick(names), math.random(20), math.random(500, 500000), pick(rates))
      end
      local body = '{"line_items":[' .. table.concat(items, ",") .. ']}'
      local h = auth(data.tokens[(i - 1) % #data.tokens + 1])
      h["Content-Type"] = "application/json"
      table.insert(reqs, wrk.format("POST", "/v1/invoices", h, body))
   end
end

function request()
   return reqs[math.random(#reqs)]
end
