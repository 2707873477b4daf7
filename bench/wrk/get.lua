-- wrk -c1 -t1 -d10s --latency -s bench/wrk/get.lua -H "Authorization: Bearer KEY" http://HOST:PORT/v1/usage
-- GETs the URL with the headers given on the command line; prints report.lua's line at the end.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local report = dofile(here .. "report.lua")

done = report.done
