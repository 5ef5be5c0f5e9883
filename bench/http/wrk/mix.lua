-- Workload 5: 90 % availability reads, 10 % spread holds, interleaved
-- deterministically (every tenth request of a connection's thread is a hold).
dofile("common.lua")

local pool, n, k = nil, 0, 0

function init(args)
  start_ids(args)
  pool = read_pool()
end

function request()
  k = k + 1
  if k % 10 == 0 then
    return hold_request(random_sku(), random_location())
  end
  n = n % POOL + 1
  return pool[n]
end
