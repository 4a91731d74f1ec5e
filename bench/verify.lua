-- verify.lua - POST /auth/verify-otp, each request with its own session.
--   BENCH_PAIRS   file of "token code" lines (bench/seed pairs or live); each
--                 thread takes every BENCH_THREADS-th line from its id on
--   BENCH_COOKIE  the session cookie's name (default otpd_session)
--   BENCH_PATH    default /auth/verify-otp; /otp/verify reads "requestId
--                 code" lines and sends the provider API's body
--   BENCH_APIKEY  X-API-Key for /otp/verify
--   BENCH_RANDOM  1: pick lines at random (repeats allowed: cookies the
--                 server keeps no state for, or codes a wrong try leaves live)
--   BENCH_PASSES  in order (not random), how many times through the lines;
--                 then the thread stops (default 1). wrk still divides by the
--                 whole duration, so done() prints "exhausted: 1 SENT MS":
--                 requests sent in the MS milliseconds before it stopped
--   BENCH_DELAY_MS  a pause before each request on a connection (half-rate
--                 rows: a paced load from few connections)
local file = os.getenv("BENCH_PAIRS")
local stride = tonumber(os.getenv("BENCH_THREADS") or "1")
local cookie = os.getenv("BENCH_COOKIE") or "otpd_session"
local path = os.getenv("BENCH_PATH") or "/auth/verify-otp"
local random = os.getenv("BENCH_RANDOM") == "1"
local apikey = os.getenv("BENCH_APIKEY")
local passes = tonumber(os.getenv("BENCH_PASSES") or "1")
local pause = tonumber(os.getenv("BENCH_DELAY_MS") or "")
local threads, nthreads = {}, 0
local reqs, n, wraps, sent, t0 = {}, 0, 0, 0, 0

local function now_ms() -- Lua has no wall clock finer than a second
   local p = io.popen("date +%s%3N")
   local t = tonumber(p:read("*l"))
   p:close()
   return t
end

function setup(thread)
   thread:set("id", nthreads)
   nthreads = nthreads + 1
   table.insert(threads, thread)
end

function init(args)
   local id = tonumber(wrk.thread:get("id") or 0)
   local i = 0
   for line in io.lines(file) do
      if i % stride == id then
         local tok, code = line:match("^(%S+) (%S+)$")
         if tok and path == "/otp/verify" then
            reqs[#reqs + 1] = wrk.format("POST", path, {
               ["Content-Type"] = "application/json",
               ["X-API-Key"] = apikey,
            }, string.format('{"requestId": "%s", "otpCode": "%s"}', tok, code))
         elseif tok then
            reqs[#reqs + 1] = wrk.format("POST", path, {
               ["Content-Type"] = "application/json",
               ["Cookie"] = cookie .. "=" .. tok,
            }, string.format('{"code": "%s"}', code))
         end
      end
      i = i + 1
   end
   if #reqs == 0 then error("no pairs in " .. tostring(file)) end
   math.randomseed(os.time() + id)
   if not random then t0 = now_ms() end
end

function request()
   if random then
      return reqs[math.random(#reqs)]
   end
   n = n + 1
   sent = sent + 1
   if n > #reqs then
      n = 1
      wraps = wraps + 1
      if wraps >= passes then
         wrk.thread:set("exhausted", string.format("%d %d", sent, now_ms() - t0))
         wrk.thread:stop()
      end
   end
   return reqs[n]
end

if pause then
   function delay() return pause end
end

function done(summary, latency, requests)
   local sent, ms = 0, 0
   for _, t in ipairs(threads) do
      local e = t:get("exhausted")
      if e then
         local s, m = e:match("(%d+) (%d+)")
         sent = sent + tonumber(s)
         ms = math.max(ms, tonumber(m))
      end
   end
   if ms > 0 then io.write(string.format("exhausted: 1 %d %d\n", sent, ms)) end
end
