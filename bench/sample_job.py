#!/usr/bin/env python3
"""Samples a running job's `sent` counter every 100 ms until the job is final.

    sample_job.py API_URL KEY JOB_ID OUT.csv

Writes "seconds_since_first_sample,sent" rows to OUT.csv (for the throughput
chart) and prints one JSON object: the highest number of messages sent in any
1-second window (from the samples, linearly interpolated) and the sample count.
"""
import bisect
import json
import sys
import time
import urllib.request

FINAL = {"COMPLETED", "PARTIAL", "FAILED", "CANCELLED"}


def main() -> None:
    api, key, job, out = sys.argv[1:5]
    req = urllib.request.Request(f"{api}/v1/jobs/{job}", headers={"Authorization": f"Bearer {key}"})
    samples = []
    t0 = time.monotonic()
    while True:
        with urllib.request.urlopen(req) as r:
            view = json.load(r)
        samples.append((time.monotonic() - t0, view["sent"] + view["delivered"] + view["failed"]))
        if view["status"] in FINAL:
            break
        time.sleep(0.1)
    with open(out, "w") as f:
        for t, n in samples:
            f.write(f"{t:.3f},{n}\n")
    times = [t for t, _ in samples]

    def at(t: float) -> float:  # done count at time t, interpolated
        i = bisect.bisect_left(times, t)
        if i == 0:
            return samples[0][1]
        if i >= len(samples):
            return samples[-1][1]
        (ta, na), (tb, nb) = samples[i - 1], samples[i]
        return na + (nb - na) * (t - ta) / (tb - ta) if tb > ta else nb

    best = max((at(t + 1.0) - n for t, n in samples if t + 1.0 <= times[-1]), default=0)
    print(json.dumps({"max_1s_window": round(best), "samples": len(samples)}))


if __name__ == "__main__":
    main()
