-- bi_count.lua - wrk scenario: BI's count by country,
-- POST /v1/bi/queries/run {source: contacts, group_by: [country],
-- aggregates: [count]} over the BI workspace's 1,000,000 contacts (40
-- countries, skewed, and some without), rotating over its keys (bi:write
-- and crm:read). See common.lua.
dofile("bench/common.lua")

local reqs = {}

function prepare(data)
   local body = '{"query":{"source":"contacts","group_by":["country"],' ..
      '"aggregates":[{"fn":"count"}]}}'
   for _, tok in ipairs(data.bi.tokens) do
      local h = auth(tok)
      h["Content-Type"] = "application/json"
      table.insert(reqs, wrk.format("POST", "/v1/bi/queries/run", h, body))
   end
end

function request()
   return reqs[math.random(#reqs)]
end
