-- wrk -c1 -t1 -d20s --latency -s bench/wrk/messages.lua http://HOST:PORT/v1/messages
-- POSTs an Anthropic Messages request, the body bench/loadgen.py sends, with the key as x-api-key.
-- Environment: KEY (x-api-key), MODEL (default bench-claude), STREAM=1 (streamed).
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local report = dofile(here .. "report.lua")

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["x-api-key"] = os.getenv("KEY") or "sk-bench"
wrk.headers["anthropic-version"] = "2023-06-01"
local model = os.getenv("MODEL") or "bench-claude"
local body = '{"model":"' .. model .. '","messages":[{"role":"user","content":"Say hello"}],"max_tokens":64'
if report.flag("STREAM") then
  body = body .. ',"stream":true'
end
wrk.body = body .. "}"

done = report.done
