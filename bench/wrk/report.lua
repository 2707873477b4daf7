-- Shared by chat.lua, messages.lua and responses.lua: the request's headers, and one parseable line at
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

-- With WAITED_US set: the share of requests (%) that took at least that long, to 0.01 %.
local function share_over(latency, us)
  if latency.max < us then return 0 end
  if latency.min >= us then return 100 end
  local lo, hi = 0, 100
  while hi - lo > 0.01 do
    local mid = (lo + hi) / 2
    if latency:percentile(mid) >= us then hi = mid else lo = mid end
  end
  return 100 - hi
end

function M.done(summary, latency, _requests)
  local e = summary.errors
  local waited = tonumber(os.getenv("WAITED_US") or "")
  io.write(string.format(
    "WRK requests=%d rps=%.1f p50_us=%.1f p90_us=%.1f p99_us=%.1f mean_us=%.1f errors=%d%s\n",
    summary.requests, summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.mean,
    e.connect + e.read + e.write + e.status + e.timeout,
    waited and string.format(" waited_pct=%.2f", share_over(latency, waited)) or ""))
end

return M
