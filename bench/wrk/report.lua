-- Shared by chat.lua and responses.lua: the request's headers, and one parseable line at
-- the end of a run (latency percentiles in microseconds, as wrk measures them: from the
-- request's write to the response's last byte).
local M = {}

function M.headers()
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer " .. (os.getenv("KEY") or "sk-bench")
end

function M.flag(name)
  local v = os.getenv(name)
  return v ~= nil and v ~= "" and v ~= "0"
end

function M.done(summary, latency, _requests)
  local e = summary.errors
  io.write(string.format(
    "WRK requests=%d p50_us=%.1f p90_us=%.1f p99_us=%.1f mean_us=%.1f errors=%d\n",
    summary.requests, latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.mean,
    e.connect + e.read + e.write + e.status + e.timeout))
end

return M
