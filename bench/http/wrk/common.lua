-- Shared by every workload script: the stock layout (handed over by run.mjs in
-- BENCH_* variables so the loader and the load agree), a seeded generator so
-- every system sees the same request sequence, unique reservation ids, and a
-- done() that prints one machine-readable line for run.mjs.
-- wrk runs these with the working directory bench/http/wrk (see run.mjs).

SKUS = tonumber(os.getenv("BENCH_SKUS") or "20000")
LOCATIONS = {}
for loc in string.gmatch(os.getenv("BENCH_LOCATIONS") or "store-0001", "[^,]+") do
  LOCATIONS[#LOCATIONS + 1] = loc
end
HOT_SKU = os.getenv("BENCH_HOT_SKU") or "FLASH-000001"
HOT_LOCATION = os.getenv("BENCH_HOT_LOCATION") or "web"
SEED = 20240601
POOL = 8192 -- distinct pre-built read requests, cycled (keeps Lua off the hot path)

function sku_id(i)
  return string.format("SKU-%06d", i)
end

function random_sku()
  return sku_id(math.random(0, SKUS - 1))
end

function random_location()
  return LOCATIONS[math.random(1, #LOCATIONS)]
end

-- Called in each wrk thread's own Lua state by init(): run tag + thread id +
-- a counter make every reservation id unique within a cell.
local tag, tid, counter = "run", 0, 0

function start_ids(args)
  tag = (args and args[1]) or "run"
  tid = thread_id or 0
  math.randomseed(SEED + tid)
end

function next_id()
  counter = counter + 1
  return "r-" .. tag .. "-" .. tid .. "-" .. counter
end

local hold_head = nil

-- A raw request for one single-line hold; hand-built because it runs per request.
function hold_request(sku, location)
  if hold_head == nil then
    hold_head = "POST /v1/reservations HTTP/1.1\r\nHost: " .. wrk.headers["Host"] ..
      "\r\nContent-Type: application/json\r\nContent-Length: "
  end
  local body = '{"id":"' .. next_id() .. '","lines":[{"sku":"' .. sku ..
    '","location":"' .. location .. '","qty":1}]}'
  return hold_head .. #body .. "\r\n\r\n" .. body
end

function read_request(sku, location)
  return wrk.format("GET", "/v1/availability/" .. sku .. "?location=" .. location)
end

function read_pool()
  local pool = {}
  for i = 1, POOL do pool[i] = read_request(random_sku(), random_location()) end
  return pool
end

-- Gives each thread its id (1, 2, ...) before its init() runs.
local threads_started = 0
function setup(thread)
  threads_started = threads_started + 1
  thread:set("thread_id", threads_started)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests":%d,"durationUs":%d,"bytes":%d,"p50Us":%d,"p90Us":%d,"p99Us":%d,"p999Us":%d,"maxUs":%d,"meanUs":%.1f,' ..
    '"connectErrors":%d,"readErrors":%d,"writeErrors":%d,"statusErrors":%d,"timeouts":%d}\n',
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9),
    latency.max, latency.mean, e.connect, e.read, e.write, e.status, e.timeout))
end
