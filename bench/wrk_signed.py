#!/usr/bin/env python3
"""Writes N webhook requests signed as Crier signs them, for wrk's ceiling run.

    wrk_signed.py SECRET N OUT

One line per request: webhook-id, webhook-timestamp, webhook-signature and the
body, tab-separated (bench/wrk_signed.lua reads them). Each has its own id, so
`crier sink` verifies the signature and records a new id for every request,
the same work it does for Crier's own deliveries.

The requests are Crier's byte for byte in shape and size: ids in Crier's
formats (a message id is msg_ + the job's 26-character ULID + _ + 16 hex
digits of the seq), the envelope's fields in Crier's order, and (in
wrk_signed.lua) the same headers, User-Agent and Idempotency-Key among them.
Size matters to the ceiling: a request the sink must read in two calls costs
it more CPU than one it reads in one (before the sink reserved 4 KiB per
connection, it read 512 bytes first, so a 370-byte request took one read and
Crier's 562-byte deliveries two).
"""
import base64
import hashlib
import hmac
import sys
import time


def main() -> None:
    secret, n, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    key = base64.b64decode(secret[len("whsec_"):]) if secret.startswith("whsec_") else secret.encode()
    ts = str(int(time.time()))
    ulid = "01WRKBENCHWRKBENCHWRKBENCH"  # a job id's 26 Crockford base32 characters
    assert len(ulid) == 26
    with open(out, "w") as f:
        for i in range(n):
            mid = f"msg_{ulid}_{i:016x}"
            body = (f'{{"message_id":"{mid}","job_id":"job_{ulid}","seq":{i},"user_id":"user-{i:07d}",'
                    f'"correlation_id":null,"channel":"webhook","data":{{"name":"User {i}"}}}}')
            mac = hmac.new(key, f"{mid}.{ts}.{body}".encode(), hashlib.sha256).digest()
            f.write(f"{mid}\t{ts}\tv1,{base64.b64encode(mac).decode()}\t{body}\n")


if __name__ == "__main__":
    main()
