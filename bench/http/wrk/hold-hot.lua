-- Workload 4: a flash sale: every hold (qty 1, unique ids) on the ONE hot
-- position; its stock is large enough that they all succeed.
dofile("common.lua")

function init(args)
  start_ids(args)
end

function request()
  return hold_request(HOT_SKU, HOT_LOCATION)
end
