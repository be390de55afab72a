-- cms_search.lua - wrk scenario: the CMS entry search,
-- GET /v1/cms/entries/search?query=<q>&limit=20 (title hits first, then
-- text hits, each with a snippet) in the CMS workspace (100,000 articles),
-- with the generator's queries (common and rare topic words, prefixes,
-- two-word queries, words only bodies hold) and that workspace's keys.
-- See common.lua.
dofile("bench/common.lua")

local reqs = {}

function prepare(data)
   for _, tok in ipairs(data.cms.tokens) do
      for _, q in ipairs(data.cms.queries) do
         table.insert(reqs, wrk.format("GET", "/v1/cms/entries/search?query=" .. urlencode(q) ..
                                       "&limit=20", auth(tok)))
      end
   end
end

function request()
   return reqs[math.random(#reqs)]
end
