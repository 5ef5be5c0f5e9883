-- Workload 3: single-line holds (qty 1, unique ids) spread uniformly over the
-- 100,000 loaded positions; stock is ample, so every hold succeeds (201).
dofile("common.lua")

function init(args)
  start_ids(args)
end

function request()
  return hold_request(random_sku(), random_location())
end
