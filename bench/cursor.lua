-- cursor.lua - wrk scenario: list pages after a cursor,
-- GET /v1/contacts?limit=20&cursor=..., walking next_cursor.
--
-- wrk does not say which request a response answers, so each thread keeps a
-- pool of cursors: every response adds its next_cursor, every request takes
-- one. A cursor is sealed for its workspace and list, so each thread pages
-- through one workspace (thread 1 the first, thread 2 the second, ...) and
-- rotates over that workspace's keys. Chains start at a first page
-- (counted in first_pages, a handful per run) and restart there at the end
-- of a list, so a run walks deep into the table rather than re-reading its
-- top.
dofile("bench/common.lua")

local tokens = {}
local pool, npool = {}, 0
first_pages = 0

function prepare(data)
   local nws = 0
   for _, ws in ipairs(data.token_ws) do
      if ws > nws then nws = ws end
   end
   local mine = ((tid or 1) - 1) % nws + 1
   for i, ws in ipairs(data.token_ws) do
      if ws == mine then table.insert(tokens, data.tokens[i]) end
   end
end

function request()
   local tok = tokens[math.random(#tokens)]
   if npool == 0 then
      first_pages = first_pages + 1
      return wrk.format("GET", "/v1/contacts?limit=20", auth(tok))
   end
   local cur = pool[npool]
   pool[npool] = nil
   npool = npool - 1
   return wrk.format("GET", "/v1/contacts?limit=20&cursor=" .. cur, auth(tok))
end

function response(status, headers, body)
   if not count_response(status, body) then return end
   local _, e = body:find('"next_cursor":"', -300, true)
   if e and npool < 4096 then
      local stop = body:find('"', e + 1, true)
      npool = npool + 1
      pool[npool] = body:sub(e + 1, stop - 1)
   end
end
