-- wrk script for the benchmark: POST the body in $BENCH_BODY; with $BENCH_TOKENS, a different signed
-- JWT per request (replay protection refuses a token seen before), taken in turn by the threads.
local body_file = os.getenv("BENCH_BODY")
local tokens_file = os.getenv("BENCH_TOKENS")
local threads = tonumber(os.getenv("BENCH_THREADS") or "1")

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = assert(io.open(body_file, "rb"))
wrk.body = f:read("*a")
f:close()

local next_id = 0
function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
end

local tokens = {}
local sent = 0
function init(args)
  if tokens_file then
    for line in io.lines(tokens_file) do tokens[#tokens + 1] = line end
  end
end

function request()
  if #tokens > 0 then
    local index = sent * threads + id + 1
    sent = sent + 1
    if index > #tokens then index = ((index - 1) % #tokens) + 1 end
    wrk.headers["Authorization"] = "Bearer " .. tokens[index]
  end
  return wrk.format()
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "socket_errors": %d, "status_errors": %d, ' ..
    '"p50_us": %d, "p95_us": %d, "p99_us": %d, "max_us": %d}\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max))
end
