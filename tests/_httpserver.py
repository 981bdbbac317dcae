"""A local HTTP file server on 127.0.0.1 for the fetch tests: Range requests, scripted faults, a request log.

It binds an ephemeral port on the loopback interface only, serves from an in-memory dict, and stops by
itself after ``lifetime`` seconds even if a test forgets to stop it.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Served:
    """What the server holds and how it misbehaves.

    files : URL path (``/ml-100k.zip``) -> bytes.
    truncate_once : paths whose next response stops after half of its body (then they behave).
    ignore_range : paths answered with the whole file (200) even when a Range is asked for.
    log : (path, Range header or None, bytes sent) per request.
    """

    files: dict[str, bytes] = field(default_factory=dict)
    truncate_once: set[str] = field(default_factory=set)
    ignore_range: set[str] = field(default_factory=set)
    log: list[tuple[str, str | None, int]] = field(default_factory=list)


def _handler(served: Served):
    class Handler(BaseHTTPRequestHandler):
        timeout = 10  # a stalled client cannot hold a server thread for long

        def log_message(self, *args) -> None:  # keep pytest output clean
            pass

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            body = served.files.get(self.path)
            rng = self.headers.get("Range")
            if body is None:
                served.log.append((self.path, rng, 0))
                self.send_error(404, "Not Found")
                return
            start = 0
            if rng and self.path not in served.ignore_range:
                start = int(rng.removeprefix("bytes=").split("-")[0])
                if start >= len(body):
                    served.log.append((self.path, rng, 0))
                    self.send_error(416, "Range Not Satisfiable")
                    return
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
            else:
                self.send_response(200)
            chunk = body[start:]
            self.send_header("Content-Length", str(len(chunk)))
            self.end_headers()
            if self.path in served.truncate_once:
                served.truncate_once.discard(self.path)
                chunk = chunk[: len(chunk) // 2]
                self.close_connection = True
            self.wfile.write(chunk)
            served.log.append((self.path, rng, len(chunk)))

    return Handler


class LocalServer:
    """``with LocalServer(served) as url:`` serves ``served.files`` at ``url`` (``http://127.0.0.1:<port>``)."""

    def __init__(self, served: Served, lifetime: float = 300.0) -> None:
        self.served = served
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(served))
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
        self.watchdog = threading.Timer(lifetime, self.httpd.shutdown)
        self.watchdog.daemon = True

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> str:
        self.thread.start()
        self.watchdog.start()
        return self.url

    def __exit__(self, *exc) -> None:
        self.watchdog.cancel()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=10)
