-- SPDX-License-Identifier: EUPL-1.2
-- The part of every wrk script that bench/run.py generates; it is not run on its own.
-- bench/run.py writes, per scenario, a script of three parts: the constants below the line
-- "-- generated:" (ENTITIES, RUN, OK and the scenario's request() function), then this file.
--
-- Each wrk thread gets its own id (tid) and random seed; new entity ids are RUN-tid-counter, so
-- creates never collide, neither between threads nor with earlier runs on the same database.
-- done() prints one line, "BENCH_JSON {...}", that bench/run.py parses: the requests, the
-- duration, the bytes read, wrk's socket errors, the responses whose status is not in OK, and the
-- latency percentiles (microseconds).

local TYPES = {"OffStreetParking", "WeatherObserved", "BikeHireDockingStation", "TrafficFlowObserved"}
local threads = {}
local thread_count = 0

function setup(thread)
   thread_count = thread_count + 1
   thread:set("tid", thread_count)
   table.insert(threads, thread)
end

function init(args)
   math.randomseed(tid * 7919 + os.time())
   counter = 0
   unexpected = 0
   first_unexpected = 0
end

function response(status, headers, body)
   if not OK[status] then
      unexpected = unexpected + 1
      if first_unexpected == 0 then
         first_unexpected = status
      end
   end
end

-- The id of a loaded entity, as bench/run.py make_entity names them (type = n mod 4).
function random_id()
   local n = math.random(0, ENTITIES - 1)
   return "urn:ngsi-ld:" .. TYPES[(n % 4) + 1] .. ":bench-" .. n
end

function random_parking()
   return "urn:ngsi-ld:OffStreetParking:bench-" .. (4 * math.random(0, math.floor(ENTITIES / 4) - 1))
end

function random_lon(low, high)
   return string.format("%.5f", low + math.random() * (high - low))
end

function next_id(prefix)
   counter = counter + 1
   return prefix .. RUN .. "-" .. tid .. "-" .. counter
end

function done(summary, latency, requests)
   local bad, first = 0, 0
   for _, thread in ipairs(threads) do
      bad = bad + thread:get("unexpected")
      if first == 0 then
         first = thread:get("first_unexpected")
      end
   end
   local e = summary.errors
   io.write(string.format(
      'BENCH_JSON {"requests": %d, "duration_us": %d, "bytes": %d, "connect": %d, "read": %d, "write": %d, '
         .. '"timeout": %d, "status_over_399": %d, "unexpected_status": %d, "first_unexpected_status": %d, '
         .. '"p50_us": %d, "p95_us": %d, "p99_us": %d, "mean_us": %.1f, "max_us": %d}\n',
      summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.timeout, e.status,
      bad, first, latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.mean, latency.max
   ))
end
