-- Workload 1: availability of one SKU at one location (GET), uniformly random
-- over the 100,000 loaded positions.
dofile("common.lua")

local pool, n = nil, 0

function init(args)
  start_ids(args)
  pool = read_pool()
end

function request()
  n = n % POOL + 1
  return pool[n]
end
