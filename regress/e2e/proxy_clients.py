"""Hand-written clients for the proxy's end-to-end tests (standard library only).

- http_request: one HTTP/1.1 request on its own connection, with the raw status, headers and body.
- SSEClient: GET /v1/events over a raw socket, chunked decoding and the text/event-stream format.
- WSClient: GET /v1/ws, the RFC 6455 handshake and (masked) frames, answering pings.
- jwt_sign / jwt_parts: HS256 tokens minted with the instance's secret.
- parse_prometheus: the text exposition format 0.0.4, strictly.
"""
import base64
import hashlib
import hmac
import http.client
import json
import os
import re
import socket
import struct
import time
import urllib.parse

WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def jwt_sign(secret, claims, header=None):
    """An HS256 JWT over `claims` (a dict, taken as is) with `secret` (bytes)."""
    head = b64url(json.dumps(header or {"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    body = b64url(json.dumps(claims, separators=(",", ":")).encode())
    sig = hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64url(sig)}"


def jwt_parts(token):
    """(header, payload, signature verifier) of a compact JWT; verifier(secret) -> bool."""
    head, body, sig = token.split(".")
    def verifier(secret):
        want = hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
        return hmac.compare_digest(want, b64url_decode(sig))
    return json.loads(b64url_decode(head)), json.loads(b64url_decode(body)), verifier


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # lower-case name -> value (last one wins)
        self.body = body

    def json(self):
        try:
            return json.loads(self.body) if self.body else None
        except ValueError:
            return {"unparsed": self.body.decode(errors="replace")}

    def code(self):
        j = self.json()
        return j.get("error", {}).get("code") if isinstance(j, dict) else None


def http_request(base, method, path, body=None, token=None, headers=None, raw=None, timeout=30):
    """One request on a fresh connection; `body` is JSON-encoded, `raw` sent as is."""
    url = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=timeout)
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    hdrs = {"Content-Type": "application/json"} if data is not None else {}
    if token:
        hdrs["Authorization"] = "Bearer " + token
    hdrs.update(headers or {})
    try:
        conn.request(method, path, body=data, headers=hdrs)
        resp = conn.getresponse()
        payload = resp.read()
        return Response(resp.status, {k.lower(): v for k, v in resp.getheaders()}, payload)
    finally:
        conn.close()


class StreamClosed(Exception):
    pass


class _RawHTTPStream:
    """A request whose response is read incrementally from a raw socket."""

    def __init__(self, base, path, headers, rcvbuf=None):
        url = urllib.parse.urlsplit(base)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(10)
        self.sock.connect((url.hostname, url.port))
        lines = [f"GET {path} HTTP/1.1", f"Host: {url.hostname}:{url.port}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        self.buf = b""
        self.eof = False

    def _fill(self, deadline):
        if self.eof:
            raise StreamClosed("end of stream")
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("timed out")
        self.sock.settimeout(remaining)
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            raise TimeoutError("timed out")
        except (ConnectionResetError, BrokenPipeError):
            data = b""
        if not data:
            self.eof = True
            raise StreamClosed("connection closed")
        self.buf += data

    def read_until(self, marker, deadline):
        while marker not in self.buf:
            self._fill(deadline)
        i = self.buf.index(marker) + len(marker)
        out, self.buf = self.buf[:i], self.buf[i:]
        return out

    def read_exact(self, n, deadline):
        while len(self.buf) < n:
            self._fill(deadline)
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_head(self, timeout=10):
        head = self.read_until(b"\r\n\r\n", time.monotonic() + timeout).decode("latin-1")
        status_line, *header_lines = head.split("\r\n")
        status = int(status_line.split(" ")[1])
        headers = {}
        for line in header_lines:
            if ":" in line:
                k, v = line.split(":", 1)
                headers[k.strip().lower()] = v.strip()
        return status, headers

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class SSEClient(_RawHTTPStream):
    """GET /v1/events. Attributes after connect: status, headers, body (when not 200)."""

    def __init__(self, base, token=None, last_event_id=None, path="/v1/events", rcvbuf=None, headers=None):
        hdrs = {"Accept": "text/event-stream"}
        if token:
            hdrs["Authorization"] = "Bearer " + token
        if last_event_id is not None:
            hdrs["Last-Event-ID"] = str(last_event_id)
        hdrs.update(headers or {})
        super().__init__(base, path, hdrs, rcvbuf)
        self.status, self.headers = self.read_head()
        self.text = ""
        self.ended = False  # the chunked body ended cleanly (0-size chunk)
        self.body = None
        if self.status != 200:
            n = int(self.headers.get("content-length", "0"))
            self.body = json.loads(self.read_exact(n, time.monotonic() + 10)) if n else None

    def _next_chunk(self, deadline):
        line = self.read_until(b"\r\n", deadline)
        size = int(line.strip().split(b";")[0], 16)
        data = self.read_exact(size + 2, deadline)[:size]
        if size == 0:
            self.ended = True
        return data.decode()

    def next(self, timeout=10, comments=False):
        """The next event as a dict {id, event, data, comments}; comment-only blocks only if `comments`."""
        deadline = time.monotonic() + timeout
        while True:
            while "\n\n" not in self.text:
                if self.ended:
                    raise StreamClosed("the response ended")
                self.text += self._next_chunk(deadline)
            block, self.text = self.text.split("\n\n", 1)
            ev = {"id": None, "event": "message", "data": None, "comments": [], "retry": None}
            data_lines = []
            for line in block.split("\n"):
                if line.startswith(":"):
                    ev["comments"].append(line[1:].strip())
                elif ":" in line:
                    field, value = line.split(":", 1)
                    value = value[1:] if value.startswith(" ") else value
                    if field == "data":
                        data_lines.append(value)
                    elif field in ("id", "event", "retry"):
                        ev[field] = value
            if data_lines:
                ev["data"] = json.loads("\n".join(data_lines))
            if ev["data"] is not None or ev["event"] != "message" or comments:
                return ev

    def events(self, count, timeout=10):
        """`count` events (comments and retry blocks skipped)."""
        out = []
        deadline = time.monotonic() + timeout
        while len(out) < count:
            ev = self.next(timeout=max(0.01, deadline - time.monotonic()))
            if ev["data"] is not None or ev["event"] == "reset":
                out.append(ev)
        return out

    def drain_until_end(self, timeout=10):
        """Reads to the end of the response; returns (events, comments) seen."""
        events, comments = [], []
        deadline = time.monotonic() + timeout
        while True:
            try:
                ev = self.next(timeout=max(0.01, deadline - time.monotonic()), comments=True)
            except StreamClosed:
                return events, comments
            comments += ev["comments"]
            if ev["data"] is not None:
                events.append(ev)


class WSClient(_RawHTTPStream):
    """GET /v1/ws: after the handshake, send_json / recv (pings are answered)."""

    def __init__(self, base, token=None, path="/v1/ws"):
        self.key = base64.b64encode(os.urandom(16)).decode()
        hdrs = {"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Key": self.key,
                "Sec-WebSocket-Version": "13"}
        if token:
            hdrs["Authorization"] = "Bearer " + token
        super().__init__(base, path, hdrs)
        self.status, self.headers = self.read_head()
        self.pings = 0
        self.close_code = None
        self.body = None
        if self.status == 101:
            want = base64.b64encode(hashlib.sha1((self.key + WS_GUID).encode()).digest()).decode()
            self.accept_ok = self.headers.get("sec-websocket-accept") == want
        else:
            n = int(self.headers.get("content-length", "0"))
            self.body = json.loads(self.read_exact(n, time.monotonic() + 10)) if n else None

    def send_frame(self, opcode, payload):
        mask = os.urandom(4)
        n = len(payload)
        head = bytes([0x80 | opcode])
        if n < 126:
            head += bytes([0x80 | n])
        elif n < 65536:
            head += bytes([0x80 | 126]) + struct.pack("!H", n)
        else:
            head += bytes([0x80 | 127]) + struct.pack("!Q", n)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(head + mask + masked)

    def send_json(self, obj):
        self.send_frame(0x1, json.dumps(obj).encode())

    def recv_frame(self, deadline):
        b0, b1 = self.read_exact(2, deadline)
        opcode, n = b0 & 0x0F, b1 & 0x7F
        if n == 126:
            n = struct.unpack("!H", self.read_exact(2, deadline))[0]
        elif n == 127:
            n = struct.unpack("!Q", self.read_exact(8, deadline))[0]
        if b1 & 0x80:
            raise AssertionError("a server frame must not be masked")
        return opcode, self.read_exact(n, deadline)

    def recv(self, timeout=10):
        """The next text message as JSON; None once the server closed (close_code set)."""
        deadline = time.monotonic() + timeout
        while True:
            opcode, payload = self.recv_frame(deadline)
            if opcode == 0x9:
                self.pings += 1
                self.send_frame(0xA, payload)
            elif opcode == 0x8:
                self.close_code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
                try:
                    self.send_frame(0x8, payload[:2])
                except OSError:
                    pass
                return None
            elif opcode == 0x1:
                return json.loads(payload)

    def events(self, count, timeout=10):
        out = []
        deadline = time.monotonic() + timeout
        while len(out) < count:
            msg = self.recv(timeout=max(0.01, deadline - time.monotonic()))
            if msg is None:
                raise StreamClosed(f"closed with {self.close_code}")
            if msg.get("type") in ("event", "reset"):
                out.append(msg)
        return out


_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)')


def parse_prometheus(text):
    """{(name, frozenset(labels.items())): value}; raises ValueError on any line that is not valid text format."""
    samples = {}
    types = {}
    for line in text.split("\n"):
        if not line:
            continue
        if line.startswith("# HELP "):
            continue
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            if kind not in ("counter", "gauge", "histogram", "summary", "untyped"):
                raise ValueError(f"bad TYPE line: {line}")
            types[name] = kind
            continue
        if line.startswith("#"):
            continue
        m = _SAMPLE.match(line)
        if not m:
            raise ValueError(f"bad sample line: {line}")
        name, _, labels_text, value = m.groups()
        labels = {}
        if labels_text:
            pos = 0
            while pos < len(labels_text):
                lm = _LABEL.match(labels_text, pos)
                if not lm:
                    raise ValueError(f"bad labels: {line}")
                labels[lm.group(1)] = lm.group(2)
                pos = lm.end()
        base = re.sub(r"_(bucket|sum|count)$", "", name)
        if name not in types and base not in types:
            raise ValueError(f"sample without TYPE: {line}")
        samples[(name, frozenset(labels.items()))] = float(value)
    return samples, types
