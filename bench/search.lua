-- search.lua - wrk scenario: full-text search,
-- GET /v1/contacts?query=<q>&limit=20, with queries from the generator
-- (name prefixes of 2-3 letters, whole names, "first last", an email
-- fragment, company words) and rotating keys. See common.lua.
dofile("bench/common.lua")

local reqs = {}

function prepare(data)
   for _, tok in ipairs(data.tokens) do
      for _, q in ipairs(data.queries) do
         table.insert(reqs, wrk.format("GET", "/v1/contacts?query=" .. urlencode(q) .. "&limit=20",
                                       auth(tok)))
      end
   end
end

function request()
   return reqs[math.random(#reqs)]
end
