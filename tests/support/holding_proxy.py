"""An HTTP proxy in front of the local Batch service that can stop one request in its tracks.

Crash tests point a stack's `batch:endpoint` here. Every request is passed on unchanged (Shared Key signatures
cover the method, the headers and the path, not the host) until one matches the armed rule: that request is
held, either before it reaches the service or after the service has acted on it but before its answer goes
back, and `held` is set; once released it is dropped unanswered. The test then kills the `pulumi` process group at exactly that point: during a create
whose object exists but whose answer never arrived, between two chunks of a collection, during a wait.
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

# Hop-by-hop headers, and the ones the forwarding client sets itself.
_NOT_FORWARDED = frozenset({"connection", "keep-alive", "transfer-encoding", "host", "content-length"})

# (request number counted from 1, method, path with query) -> hold this request?
Rule = Callable[[int, str, str], bool]


@dataclass
class Hold:
    """What to hold: the first request matching `rule`; `after_service`: let the service act on it first."""

    rule: Rule
    after_service: bool


@dataclass
class HoldingProxy:
    """The proxy's state, shared by its handler threads."""

    upstream: str
    endpoint: str = ""
    requests: int = 0
    writes: int = 0
    held: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)
    held_request: str = ""
    _hold: Hold | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def arm(self, rule: Rule, *, after_service: bool) -> None:
        """Hold the first request (from now on) for which `rule(number, method, path)` is true."""
        with self._lock:
            self.held.clear()
            self.released.clear()
            self._hold = Hold(rule, after_service)

    def release(self) -> None:
        """Drop a held request unanswered (its client is gone by then) and hold nothing more."""
        with self._lock:
            self._hold = None
        self.released.set()

    def count(self, method: str, path: str) -> Hold | None:
        """Count one request; the hold that applies to it, if any (a hold applies once)."""
        with self._lock:
            self.requests += 1
            if method not in ("GET", "HEAD"):
                self.writes += 1
            hold = self._hold
            if hold is not None and hold.rule(self.requests, method, path):
                self._hold = None
                self.held_request = f"#{self.requests} {method} {path}"
                return hold
            return None


def _handler(proxy: HoldingProxy, client: httpx.Client) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            return

        def _forward(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            hold = proxy.count(self.command, self.path)
            if hold is None or hold.after_service:
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _NOT_FORWARDED}
                answer = client.request(self.command, proxy.upstream + self.path, headers=headers, content=body)
            if hold is not None:  # held until released, then dropped unanswered: its client is dead by then
                proxy.held.set()
                proxy.released.wait()
                self.close_connection = True
                return
            self.send_response(answer.status_code)
            for key, value in answer.headers.items():
                if key.lower() not in _NOT_FORWARDED and key.lower() != "content-encoding":
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(answer.content)))
            self.end_headers()
            self.wfile.write(answer.content)

        def _serve(self) -> None:
            try:
                self._forward()
            except (OSError, httpx.HTTPError):
                self.close_connection = True  # the client was killed, or the service went away

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _serve

    return Handler


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        """A client killed mid-request is what the crash tests do: not worth a traceback."""


@contextmanager
def holding_proxy(upstream: str) -> Iterator[HoldingProxy]:
    """A proxy on a free 127.0.0.1 port in front of `upstream`; stopped (every hold released) on exit."""
    proxy = HoldingProxy(upstream.rstrip("/"))
    with httpx.Client(timeout=120.0, limits=httpx.Limits(max_connections=32)) as client:
        server = _Server(("127.0.0.1", 0), _handler(proxy, client))
        proxy.endpoint = f"http://127.0.0.1:{server.server_address[1]}"
        thread = threading.Thread(target=server.serve_forever, name="holding-proxy", daemon=True)
        thread.start()
        try:
            yield proxy
        finally:
            proxy.release()
            server.shutdown()
            server.server_close()
            thread.join(10)
