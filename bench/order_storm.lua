-- wrk script: one order per request on one window — one unit, a new Idempotency-Key and a new
-- buyer phone each. The window comes from the environment, as bench/open_window.py prints it:
--   STORM_WINDOW=7 STORM_VARIANT=12 STORM_PICKUP=3 [STORM_KEY_PREFIX=bench] \
--     wrk -t 2 -c 64 -d 10s -s bench/order_storm.lua http://127.0.0.1:8080/v1/orders
local window = assert(tonumber(os.getenv("STORM_WINDOW")), "STORM_WINDOW")
local variant = assert(tonumber(os.getenv("STORM_VARIANT")), "STORM_VARIANT")
local pickup = assert(tonumber(os.getenv("STORM_PICKUP")), "STORM_PICKUP")
local prefix = os.getenv("STORM_KEY_PREFIX") or "bench"
local counter = 0
local thread_no = 0
setup = function(thread) thread_no = thread_no + 1; thread:set("tid", thread_no) end
request = function()
  counter = counter + 1
  local n = (tid or 1) * 10000000 + counter
  local body = string.format('{"window_id":%d,"lines":[{"variant_id":%d,"quantity":1}],"buyer":{"name":"ผู้ซื้อ","phone":"08%08d"},"delivery":{"method":"pickup","pickup_point_id":%d}}', window, variant, n % 100000000, pickup)
  local key = string.format("%s-%d-%d-%d", prefix, os.time(), tid or 1, counter)
  return wrk.format("POST", "/v1/orders", {["Content-Type"] = "application/json", ["Idempotency-Key"] = key}, body)
end
