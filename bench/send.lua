-- send.lua - POST a new phone number each request (login or provider API).
--   BENCH_PREFIX  number prefix, default +1415 (then 7 digits, 2000000 up)
--   BENCH_BASE    first counter value: bench/run moves it on every round so
--                 that no two requests of a run go to the same phone
--   BENCH_THREADS wrk's -t, so that threads count in disjoint strides
--   BENCH_PATH    default /auth/send-otp; /otp/send sends the provider body
--   BENCH_APIKEY  X-API-Key for /otp/send
--   BENCH_DELAY_MS  a pause before each request on a connection
local prefix = os.getenv("BENCH_PREFIX") or "+1415"
local base = tonumber(os.getenv("BENCH_BASE") or "0")
local stride = tonumber(os.getenv("BENCH_THREADS") or "1")
local path = os.getenv("BENCH_PATH") or "/auth/send-otp"
local apikey = os.getenv("BENCH_APIKEY")
local nthreads = 0
local id, n = 0, 0

function setup(thread)
   thread:set("id", nthreads)
   nthreads = nthreads + 1
end

function init(args)
   id = tonumber(wrk.thread:get("id") or 0)
   wrk.method = "POST"
   wrk.path = path
   wrk.headers["Content-Type"] = "application/json"
   if apikey then wrk.headers["X-API-Key"] = apikey end
end

function request()
   -- exchange 200-999: NANP has no exchange starting 0 or 1, and otpd
   -- refuses numbers outside the plan (libphonenumber)
   local phone = string.format("%s%07d", prefix,
                               2000000 + (base + n * stride + id) % 8000000)
   n = n + 1
   local body
   if path == "/otp/send" then
      body = string.format('{"phoneNumber": "%s", "idempotencyKey": "b%d-%d-%d"}',
                           phone, base, id, n)
   else
      body = string.format('{"phone": "%s"}', phone)
   end
   return wrk.format(nil, nil, nil, body)
end

local pause = tonumber(os.getenv("BENCH_DELAY_MS") or "")
if pause then
   function delay() return pause end
end
