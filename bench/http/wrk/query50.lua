-- Workload 2: a listing page: 50 random SKUs at one random location
-- (POST /v1/availability/query).
dofile("common.lua")

local pool, n = nil, 0
local PAGES = 1024

function init(args)
  start_ids(args)
  pool = {}
  for p = 1, PAGES do
    local skus = {}
    for i = 1, 50 do skus[i] = '"' .. random_sku() .. '"' end
    local body = '{"skus":[' .. table.concat(skus, ",") .. '],"location":"' .. random_location() .. '"}'
    pool[p] = wrk.format("POST", "/v1/availability/query", { ["Content-Type"] = "application/json" }, body)
  end
end

function request()
  n = n % PAGES + 1
  return pool[n]
end
