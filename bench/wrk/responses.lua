-- wrk -c1 -t1 -d20s --latency -s bench/wrk/responses.lua http://HOST:PORT/v1/responses
-- POSTs an OpenAI Responses request, the body bench/loadgen.py sends: store false (what Codex
-- sends; a stored response is a database write) unless STORE=1.
-- Environment: KEY (Bearer key), MODEL (default bench-responses), STREAM=1, STORE=1.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local report = dofile(here .. "report.lua")

report.headers()
local model = os.getenv("MODEL") or "bench-responses"
local body = '{"model":"' .. model .. '","input":"Say hello","max_output_tokens":64,"store":'
  .. (report.flag("STORE") and "true" or "false")
if report.flag("STREAM") then
  body = body .. ',"stream":true'
end
wrk.body = body .. "}"

done = report.done
