-- check.lua - GET /auth/check with a valid session cookie.
--   BENCH_TOKENS  file of session tokens, one a line (bench/seed auth); each
--                 request picks one at random
--   BENCH_COOKIE  the session cookie's name (default otpd_session)
--   BENCH_PATH    default /auth/check
--   BENCH_DELAY_MS  a pause before each request on a connection
local file = os.getenv("BENCH_TOKENS")
local cookie = os.getenv("BENCH_COOKIE") or "otpd_session"
local path = os.getenv("BENCH_PATH") or "/auth/check"
local nthreads = 0
local reqs = {}

function setup(thread)
   thread:set("id", nthreads)
   nthreads = nthreads + 1
end

function init(args)
   for line in io.lines(file) do
      local tok = line:match("^(%S+)")
      if tok then
         reqs[#reqs + 1] = wrk.format("GET", path,
                                      {["Cookie"] = cookie .. "=" .. tok})
      end
   end
   if #reqs == 0 then error("no tokens in " .. tostring(file)) end
   math.randomseed(os.time() + tonumber(wrk.thread:get("id") or 0))
end

function request()
   return reqs[math.random(#reqs)]
end

local pause = tonumber(os.getenv("BENCH_DELAY_MS") or "")
if pause then
   function delay() return pause end
end
