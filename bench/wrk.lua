-- wrk: one request kind per run (env BENCH_OP = order | portfolio | health),
-- a bearer token per connection from bench/out/tokens.txt, round robin.
local op = os.getenv("BENCH_OP")
local season = os.getenv("BENCH_SEASON")
local tokens = {}
local counter = 0
local threads = 0

function setup(thread)
    thread:set("thread_index", threads)
    threads = threads + 1
end

function init(args)
    for line in io.lines(os.getenv("BENCH_TOKENS")) do
        tokens[#tokens + 1] = line
    end
end

-- each thread cycles through its own half of the tokens, so two requests in
-- flight rarely share an account (pgbench gives each client its own)
function request()
    counter = counter + 1
    local nthreads = tonumber(os.getenv("BENCH_THREADS"))
    local per = math.floor(#tokens / nthreads)
    local token = tokens[thread_index * per + (counter % per) + 1]
    local headers = {["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json"}
    if op == "order" then
        return wrk.format("POST", "/v1/trading/orders", headers,
            '{"season_id": ' .. season .. ', "symbol": "MSFT", "side": "BUY", "type": "MARKET", "quantity": 1}')
    elseif op == "portfolio" then
        return wrk.format("GET", "/v1/trading/portfolio?season_id=" .. season, headers)
    else
        return wrk.format("GET", "/health")
    end
end

function done(summary, latency, requests)
    local errors = summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write
        + summary.errors.timeout
    io.write(string.format("WRK rps=%.1f p50_ms=%.3f p99_ms=%.3f errors=%d requests=%d\n",
        summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000, latency:percentile(99) / 1000,
        errors, summary.requests))
end
