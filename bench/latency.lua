-- wrk script: prints the p50, p99 and p99.9 latencies in microseconds at the
-- end of the run, one "pNN value" line each (wrk --latency stops at p99).
function done(summary, latency, requests)
  for _, p in ipairs({50, 99, 99.9}) do
    io.write(string.format("p%s %d\n", p, latency:percentile(p)))
  end
end
