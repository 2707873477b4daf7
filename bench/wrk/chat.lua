-- wrk -c1 -t1 -d20s --latency -s bench/wrk/chat.lua http://HOST:PORT/v1/chat/completions
-- POSTs an OpenAI Chat Completions request, the body bench/loadgen.py sends.
-- Environment: KEY (Bearer key), MODEL (default bench-gpt), STREAM=1 (streamed, with usage).
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local report = dofile(here .. "report.lua")

report.headers()
local model = os.getenv("MODEL") or "bench-gpt"
local body = '{"model":"' .. model .. '","messages":[{"role":"user","content":"Say hello"}],"max_tokens":64'
if report.flag("STREAM") then
  body = body .. ',"stream":true,"stream_options":{"include_usage":true}'
end
wrk.body = body .. "}"

done = report.done
