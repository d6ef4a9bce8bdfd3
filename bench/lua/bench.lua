-- wrk script of bench/run, configured by the environment:
--   BENCH_METHOD     GET or POST (default GET)
--   BENCH_AUTH       value of the Authorization header (optional)
--   BENCH_BODY       a form body sent with every request (optional)
--   BENCH_BODIES     a file of form bodies, one a line: each is sent once, spread over the threads
--                    (thread t of n takes lines t, t+n, …); a thread that has used up its lines stops
--   BENCH_THREADS    wrk's -t, to spread BENCH_BODIES (default 2)
--   BENCH_REPORT     where done() writes its JSON summary
local method = os.getenv("BENCH_METHOD") or "GET"
local auth = os.getenv("BENCH_AUTH")
local body = os.getenv("BENCH_BODY")
local bodies_path = os.getenv("BENCH_BODIES")
local threads_total = tonumber(os.getenv("BENCH_THREADS") or "2")

local threads = {}
local next_id = 0

function setup(thread)
   thread:set("tid", next_id)
   next_id = next_id + 1
   table.insert(threads, thread)
end

local bodies, position = nil, 0
exhausted = 0  -- global: done() reads it through thread:get

function init(args)
   wrk.method = method
   if auth then wrk.headers["Authorization"] = auth end
   if body or bodies_path then
      wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
   end
   if bodies_path then
      bodies = {}
      local i = 0
      for line in io.lines(bodies_path) do
         if i % threads_total == tid then table.insert(bodies, line) end
         i = i + 1
      end
   end
end

function request()
   if bodies then
      position = position + 1
      local b = bodies[position]
      if b == nil then
         exhausted = 1
         wrk.thread:stop()
         b = "exhausted=1"
      end
      return wrk.format(nil, nil, nil, b)
   end
   return wrk.format(nil, nil, nil, body)
end

function done(summary, latency, requests)
   local used_up = 0
   for _, t in ipairs(threads) do used_up = used_up + (t:get("exhausted") or 0) end
   local e = summary.errors
   local out = io.open(os.getenv("BENCH_REPORT"), "w")
   out:write(string.format(
      '{"requests": %d, "duration_us": %d, "non2xx": %d, "connect": %d, "read": %d, "write": %d, ' ..
      '"timeout": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d, "bodies_used_up": %d}\n',
      summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout,
      latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, used_up))
   out:close()
end
