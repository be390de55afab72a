-- soak.lua - wrk script of `make soak` (bench/soak.sh): creates and reads
-- of contacts, paced to a target rate. Per wrk thread (each its own key,
-- so a thread's connections stay within the per-key limit): every other
-- request is POST /v1/contacts; of the rest, one in five is the first page
-- of GET /v1/contacts and the others GET /v1/contacts/{id} of a contact
-- this thread created lately (ids taken from the 201 answers).
--
-- The data file (args[1]) sets tokens, connections and rate (requests a
-- second over all threads; 0 = as fast as possible: the capacity probe).
-- delay() spaces each connection's requests and corrects itself once a
-- second against the requests sent so far, since a fixed delay would add
-- the latency of each request to it. See common.lua for the rest.
dofile("bench/common.lua")

local token, target, n, sent = nil, 0, 0, 0
local ids, nids, ring = {}, 0, 1000
local pause, started, adjusted = 0, nil, 0

function prepare(data)
   token = data.tokens[((tid or 1) - 1) % #data.tokens + 1]
   if data.rate and data.rate > 0 then
      -- This thread's share of the rate, and the spacing of one connection.
      target = data.rate / data.threads
      pause = data.connections / data.rate * 1000
   end
end

function request()
   n = n + 1
   sent = sent + 1
   local h = auth(token)
   if n % 2 == 1 or nids == 0 then
      h["Content-Type"] = "application/json"
      local body = string.format(
         '{"first_name":"Soak","last_name":"Tester%d","email":"soak.%d.%d@example.com",' ..
         '"status":"active","country":"Norway","custom_fields":{"run":"soak"}}',
         n % 97, tid or 1, n)
      return wrk.format("POST", "/v1/contacts", h, body)
   elseif n % 10 == 0 then
      return wrk.format("GET", "/v1/contacts?limit=20", h)
   end
   return wrk.format("GET", "/v1/contacts/" .. ids[math.random(math.min(nids, ring))], h)
end

function response(status, headers, body)
   if count_response(status, body) and status == 201 then
      local id = body:match('"id":"(con_[^"]+)"')
      if id then
         ids[nids % ring + 1] = id
         nids = nids + 1
      end
   end
end

function delay()
   if target == 0 then
      return 0
   end
   local now = os.time()
   started = started or now
   if now > adjusted and now - started >= 2 then
      adjusted = now
      -- Ahead of the target: wait longer; behind: shorter (bounded steps).
      local ratio = sent / (target * (now - started))
      pause = pause * math.max(0.8, math.min(1.25, ratio))
   end
   -- Milliseconds are whole: round at random so the mean is exact.
   local whole = math.floor(pause)
   if math.random() < pause - whole then
      whole = whole + 1
   end
   return whole
end
