#!/usr/bin/python3
"""A real SMTP server for Crier's tests, on aiosmtpd (Debian's python3-aiosmtpd).

Run it with Debian's /usr/bin/python3: the pyenv python3 on PATH cannot see
Debian's packages. It listens on 127.0.0.1:<port> (0 = any free port) and
prints one line, "smtp sink listening on 127.0.0.1:PORT", once it accepts
connections.

Every accepted message becomes one JSON file in <dir>/messages/, written to a
temporary name and renamed, so a reader never sees half a file. It holds the
envelope, the raw content and what Python's own email parser decodes from it
(subject, text and html parts): the test checks Crier's MIME against an
independent decoder. Every TCP connection appends one line to
<dir>/sessions.log, so a test can count how many connections were opened.
"""

import argparse
import asyncio
import email
import email.policy
import json
import os
import ssl
import sys
import uuid

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


def parse_counts(specs):
    """["a@x.org:2", ...] -> {"a@x.org": 2}"""
    out = {}
    for spec in specs:
        address, _, count = spec.rpartition(":")
        out[address.lower()] = int(count)
    return out


class SinkHandler:
    def __init__(self, args):
        self.dir = args.dir
        self.pipelining = not args.no_pipelining
        self.reject = {a.lower() for a in args.reject}
        # address -> how many more times to answer 4xx
        self.tempfail_rcpt = parse_counts(args.tempfail_rcpt)
        self.tempfail_data = parse_counts(args.tempfail_data)
        os.makedirs(os.path.join(self.dir, "messages"), exist_ok=True)

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        if self.pipelining:
            # aiosmtpd reads commands line by line, so it serves pipelined
            # clients correctly; it just does not say so.
            responses.insert(1, "250-PIPELINING")
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        key = address.lower()
        if key in self.reject:
            return "550 5.1.1 <%s>: mailbox unavailable" % address
        if self.tempfail_rcpt.get(key, 0) > 0:
            self.tempfail_rcpt[key] -= 1
            return "451 4.3.0 <%s>: try again later" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        for rcpt in envelope.rcpt_tos:
            key = rcpt.lower()
            if self.tempfail_data.get(key, 0) > 0:
                self.tempfail_data[key] -= 1
                return "452 4.3.1 insufficient system storage, try later"
        raw = envelope.original_content or envelope.content
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "raw": raw.decode("utf-8", errors="replace"),
            "tls": session.ssl is not None,
            "auth_user": login_name(session),
            "session": id(session),
        }
        record.update(decode(raw))
        path = os.path.join(self.dir, "messages", uuid.uuid4().hex)
        with open(path + ".tmp", "w", encoding="utf-8") as f:
            json.dump(record, f)
        os.rename(path + ".tmp", path + ".json")
        return "250 2.0.0 OK queued"


def login_name(session):
    data = session.auth_data
    if isinstance(data, LoginPassword):
        return data.login.decode("utf-8", errors="replace")
    return None


def decode(raw):
    """What a mail client would show: decoded subject, text and html parts."""
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    out = {
        "subject": str(msg.get("Subject", "")),
        "raw_subject": raw_header(raw, b"Subject"),
        "from": str(msg.get("From", "")),
        "to": str(msg.get("To", "")),
        "message_id": str(msg.get("Message-ID", "")),
        "x_crier_message_id": str(msg.get("X-Crier-Message-Id", "")),
        "date": str(msg.get("Date", "")),
        "content_type": msg.get_content_type(),
        "defects": [str(d) for d in msg.defects],
    }
    for part in msg.walk():
        if part.is_multipart():
            continue
        kind = part.get_content_type()
        if kind == "text/plain":
            out["text"] = part.get_content()
        elif kind == "text/html":
            out["html"] = part.get_content()
        out.setdefault("defects", []).extend(str(d) for d in part.defects)
    return out


def raw_header(raw, name):
    """The header's value as sent (folded lines joined), before any decoding."""
    head = raw.split(b"\r\n\r\n", 1)[0]
    value = None
    for line in head.split(b"\r\n"):
        if value is not None and line[:1] in (b" ", b"\t"):
            value += line
        elif value is not None:
            break
        elif line.lower().startswith(name.lower() + b":"):
            value = line[len(name) + 1:].strip()
    return (value or b"").decode("ascii", errors="replace")


class CountingSMTP(SMTP):
    """Appends a line to sessions.log for every connection it accepts."""

    sessions_log = None

    def connection_made(self, transport):
        with open(self.sessions_log, "a", encoding="utf-8") as f:
            f.write("session\n")
        super().connection_made(transport)


def make_authenticator(credentials):
    user, _, password = credentials.partition(":")

    def authenticate(server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword)
              and auth_data.login.decode() == user
              and auth_data.password.decode() == password)
        # handled=False: aiosmtpd then answers 535 itself (handled=True
        # would mean the authenticator already replied, and it has not).
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

    return authenticate


async def serve(args):
    loop = asyncio.get_running_loop()
    handler = SinkHandler(args)
    CountingSMTP.sessions_log = os.path.join(args.dir, "sessions.log")
    options = {"hostname": "crier-sink", "enable_SMTPUTF8": True, "loop": loop}
    if args.tls_cert:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.tls_cert, args.tls_key)
        options["tls_context"] = context
        options["require_starttls"] = True
    if args.auth:
        options["authenticator"] = make_authenticator(args.auth)
        options["auth_required"] = True
        options["auth_require_tls"] = True
    server = await loop.create_server(
        lambda: CountingSMTP(handler, **options), host="127.0.0.1", port=args.port)
    port = server.sockets[0].getsockname()[1]
    print("smtp sink listening on 127.0.0.1:%d" % port, flush=True)
    async with server:
        await server.serve_forever()


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dir", required=True, help="where messages/ and sessions.log go")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--no-pipelining", action="store_true", help="do not advertise PIPELINING")
    p.add_argument("--reject", action="append", default=[], metavar="ADDRESS",
                   help="answer RCPT TO for this address with 550")
    p.add_argument("--tempfail-rcpt", action="append", default=[], metavar="ADDRESS:K",
                   help="answer the first K RCPT TOs for this address with 451")
    p.add_argument("--tempfail-data", action="append", default=[], metavar="ADDRESS:K",
                   help="answer the first K DATAs for this address with 452")
    p.add_argument("--tls-cert", help="offer (and require) STARTTLS with this PEM certificate")
    p.add_argument("--tls-key", help="the certificate's PEM private key")
    p.add_argument("--auth", metavar="USER:PASSWORD", help="require AUTH (after TLS)")
    args = p.parse_args()
    try:
        asyncio.run(serve(args))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
