-- cms_create.lua - wrk scenario: POST /v1/cms/entries into the CMS
-- workspace's collection of 100,000 articles, whose schema has a unique
-- slug: every body carries a slug no other request of any run sends (a
-- per-process nonce and a counter), a title, summary, markdown body,
-- category and author, rotating over the workspace's 16 keys. See
-- common.lua.
dofile("bench/common.lua")

local heads, parts = {}, {}
local collection, site
local nonce, n = 0, 0
local topics = { "sales pipeline", "customer onboarding", "lead scoring", "churn", "pricing",
                 "webhooks", "forecasting", "renewals" }
local para = "Most teams start with spreadsheets and outgrow them within a year. " ..
   "Start small: pick one metric, one owner and one review meeting. " ..
   "Automating the boring parts with webhooks frees hours every week. " ..
   "Document the process so new hires can follow it in their first week. "

function prepare(data)
   collection, site = data.cms.collection, data.cms.site
   for _, tok in ipairs(data.cms.tokens) do
      local h = auth(tok)
      h["Content-Type"] = "application/json"
      table.insert(heads, h)
   end
   for i, t in ipairs(topics) do
      table.insert(parts, {
         title = "A practical guide to " .. t .. " (" .. i .. ")",
         summary = "What we learned about " .. t .. ", and what to do about it.",
         body = "## " .. t .. "\\n\\n" .. para .. para, -- JSON's \n
      })
   end
   -- Unique across wrk threads, the warm-up and the run: the thread's id,
   -- the clock and a random draw.
   nonce = string.format("%d-%d-%d", tid or 1, os.time(), math.random(1, 1000000000))
end

function request()
   n = n + 1
   local p = parts[math.random(#parts)]
   local body = string.format(
      '{"collection_id":"%s","title":"%s","status":"draft","content_type":"article",' ..
      '"site_id":"%s","fields":{"slug":"bench-%s-%d","summary":"%s","body":"%s",' ..
      '"category":"sales","author":"Ada Lovelace","reading_minutes":3}}',
      collection, p.title, site, nonce, n, p.summary, p.body)
   return wrk.format("POST", "/v1/cms/entries", heads[math.random(#heads)], body)
end
