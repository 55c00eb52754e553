-- wrk script: POSTs the pre-signed requests of bench/wrk_signed.py in turn
-- (wrk ... -s wrk_signed.lua URL -- FILE), so the sink verifies and counts
-- each one as it does Crier's deliveries. The headers are the ones Crier
-- sends (workers/webhook_provider.cpp, workers/http_client.cpp), so each
-- request has the size of Crier's own.
local requests = {}
local next_one = 0

function init(args)
  for line in io.lines(args[1]) do
    local id, ts, sig, body = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
    requests[#requests + 1] = wrk.format("POST", nil, {
      ["User-Agent"] = "crier/0.1",
      ["Content-Type"] = "application/json",
      ["Idempotency-Key"] = id,
      ["webhook-id"] = id,
      ["webhook-timestamp"] = ts,
      ["webhook-signature"] = sig,
    }, body)
  end
end

function request()
  next_one = next_one % #requests + 1
  return requests[next_one]
end
