-- create.lua - wrk scenario: POST /v1/contacts with a small JSON body
-- (names, an email, status, country, sometimes a custom field), rotating
-- keys and workspaces. Bodies are built up front and reused; nothing
-- requires them to be unique. See common.lua.
dofile("bench/common.lua")

local reqs = {}
local firsts = { "Ada", "Grace", "Alan", "Edsger", "Barbara", "Ken", "Margaret", "Dennis" }
local lasts = { "Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Thompson", "Hamilton" }
local countries = { "Germany", "France", "Japan", "Brazil", "Canada", "India" }

function prepare(data)
   for i = 1, 4000 do
      local f, l = pick(firsts), pick(lasts)
      local body = string.format(
         '{"first_name":"%s","last_name":"%s","email":"%s.%s.t%d.%d@example.com",' ..
         '"status":"active","country":"%s"%s}',
         f, l, f:lower(), l:lower(), tid or 1, i, pick(countries),
         i % 2 == 0 and ',"custom_fields":{"tier":"gold"}' or "")
      local h = auth(data.tokens[(i - 1) % 4 + 1])
      h["Content-Type"] = "application/json"
      table.insert(reqs, wrk.format("POST", "/v1/contacts", h, body))
   end
end

function request()
   return reqs[math.random(#reqs)]
end
