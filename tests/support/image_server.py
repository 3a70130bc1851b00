#!/usr/bin/env python3
"""Serves a directory over HTTP on 127.0.0.1 for berth's image tests (python3 stdlib only).

GET with Range ("bytes=N-" / "bytes=N-M") answers 206 with Content-Range, honouring If-Range
against the ETag or Last-Modified it sends; a range past the end answers 416. It also serves
proxy-style requests ("GET http://host/path"), so that it can stand in for a forward proxy.
Prints its port on the first line of stdout once it listens.

Misbehaviour on request, for the tests:
  --wrong-checksum     *SUMS files are served with every digest changed
  --cut-after N        close the connection after N body bytes of a file larger than N,
                       for the first --cut-count (default 1) such answers
  --ignore-range       answer 200 with the whole file, whatever Range says
  --stall-after N      send N body bytes of a file larger than N, then nothing (keep it open)
  --rate BYTES         send at most BYTES per second
  --log FILE           one JSON line per request: method, target, range, if_range, status
  --redirect PATH=URL  answer GET PATH with 302 to URL (repeatable)
  --tls-cert F --tls-key F   serve https with this certificate and key (PEM)
"""

import argparse
import email.utils
import http.server
import json
import os
import re
import socket
import sys
import threading
import time
import urllib.parse

CHUNK = 64 * 1024


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", required=True, help="directory to serve")
    parser.add_argument("--log", help="request log (JSON lines)")
    parser.add_argument("--wrong-checksum", action="store_true")
    parser.add_argument("--cut-after", type=int, default=-1)
    parser.add_argument("--cut-count", type=int, default=1)
    parser.add_argument("--ignore-range", action="store_true")
    parser.add_argument("--stall-after", type=int, default=-1)
    parser.add_argument("--rate", type=int, default=0)
    parser.add_argument("--redirect", action="append", default=[])
    parser.add_argument("--tls-cert")
    parser.add_argument("--tls-key")
    return parser.parse_args()


def flip_digests(text):
    """Every hex digest with each digit replaced by the next one: still well-formed, all wrong."""
    def flip(match):
        return "".join("0123456789abcdef"[(int(c, 16) + 1) % 16] for c in match.group(0).lower())
    return re.sub(r"\b[0-9a-fA-F]{64,128}\b", flip, text)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "berth-image-server"
    sys_version = ""

    def log_request_line(self, status, **extra):
        opts = self.server.opts
        if not opts.log:
            return
        entry = {
            "method": self.command,
            "target": self.path,
            "range": self.headers.get("Range"),
            "if_range": self.headers.get("If-Range"),
            "status": status,
        }
        entry.update(extra)
        with self.server.lock:
            with open(opts.log, "a", encoding="utf-8") as log:
                log.write(json.dumps(entry) + "\n")

    def plain(self, status, text):
        body = text.encode()
        self.log_request_line(status)
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def take_cut(self):
        with self.server.lock:
            if self.server.cuts_left > 0:
                self.server.cuts_left -= 1
                return True
            return False

    def do_GET(self):
        opts = self.server.opts
        target = self.path
        proxied = target.startswith("http://") or target.startswith("https://")
        path = urllib.parse.unquote(urllib.parse.urlsplit(target).path)
        for rule in opts.redirect:
            source, _, location = rule.partition("=")
            if path == source:
                self.log_request_line(302)
                self.send_response(302)
                self.send_header("Location", location)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
        file = os.path.normpath(os.path.join(opts.root, path.lstrip("/")))
        if not file.startswith(os.path.abspath(opts.root)) or not os.path.isfile(file):
            self.plain(404, "not found: " + path)
            return

        with open(file, "rb") as f:
            data = f.read()
        if opts.wrong_checksum and os.path.basename(file).endswith("SUMS"):
            data = flip_digests(data.decode()).encode()
        stat = os.stat(file)
        etag = '"%x-%x"' % (stat.st_size, stat.st_mtime_ns)
        last_modified = email.utils.formatdate(stat.st_mtime, usegmt=True)
        size = len(data)

        start, end, status = 0, size - 1, 200
        wanted = self.headers.get("Range")
        if_range = self.headers.get("If-Range")
        if wanted and not opts.ignore_range and (if_range is None or if_range in (etag, last_modified)):
            match = re.fullmatch(r"bytes=(\d+)-(\d*)", wanted.strip())
            if match:
                first = int(match.group(1))
                if first >= size:
                    self.log_request_line(416)
                    self.send_response(416)
                    self.send_header("Content-Range", "bytes */%d" % size)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                start, status = first, 206
                if match.group(2):
                    end = min(int(match.group(2)), size - 1)

        body = data[start:end + 1]
        cut = len(body) if opts.cut_after < 0 or len(body) <= opts.cut_after or not self.take_cut() else opts.cut_after
        stall = opts.stall_after >= 0 and len(body) > opts.stall_after
        self.log_request_line(status, proxied=proxied, cut=cut < len(body), stall=stall)

        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Accept-Ranges", "none" if opts.ignore_range else "bytes")
        self.send_header("ETag", etag)
        self.send_header("Last-Modified", last_modified)
        if status == 206:
            self.send_header("Content-Range", "bytes %d-%d/%d" % (start, end, size))
        self.end_headers()

        limit = opts.stall_after if stall else cut
        sent = 0
        began = time.monotonic()
        try:
            while sent < limit:
                piece = body[sent:min(limit, sent + CHUNK)]
                self.wfile.write(piece)
                sent += len(piece)
                if opts.rate > 0:
                    ahead = sent / opts.rate - (time.monotonic() - began)
                    if ahead > 0:
                        time.sleep(ahead)
            self.wfile.flush()
            if stall:
                # Keep the connection open and silent until the client gives up.
                while self.connection.recv(1):
                    pass
                return
            if cut < len(body):
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
        except (BrokenPipeError, ConnectionResetError, OSError):
            self.close_connection = True

    def log_message(self, format, *args):  # noqa: A002 (BaseHTTPRequestHandler's signature)
        pass


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        print(f"image_server: {sys.exc_info()[1]}", file=sys.stderr, flush=True)


def main():
    opts = parse_args()
    opts.root = os.path.abspath(opts.root)
    server = Server(("127.0.0.1", 0), Handler)
    server.opts = opts
    server.lock = threading.Lock()
    server.cuts_left = opts.cut_count if opts.cut_after >= 0 else 0
    if opts.tls_cert:
        import ssl
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(opts.tls_cert, opts.tls_key)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    print(server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
