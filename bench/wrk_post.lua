-- wrk script: POST bodies read from a file (one JSON body per line), cycling through them.
-- Usage: wrk -s wrk_post.lua <url> -- <bodies-file> <write-key>
local bodies = {}
local index = 0

function init(args)
  for line in io.lines(args[1]) do
    bodies[#bodies + 1] = line
  end
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer " .. args[2]
end

function request()
  index = index % #bodies + 1
  return wrk.format(nil, nil, nil, bodies[index])
end

function done(summary, latency, requests)
  io.write(string.format("JSON {\"requests\": %d, \"duration_us\": %d, \"errors_status\": %d, " ..
    "\"errors_connect\": %d, \"errors_timeout\": %d, \"p50_us\": %d, \"p90_us\": %d, \"p99_us\": %d, " ..
    "\"max_us\": %d}\n", summary.requests, summary.duration, summary.errors.status, summary.errors.connect,
    summary.errors.timeout, latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
