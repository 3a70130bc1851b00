#!/usr/bin/env python3
"""A logging apt proxy for the e2e tests: `apt_proxy.py PORT LOG ALLOWED_HOST...`.

Listens on every address at PORT and serves plain-HTTP proxy requests (`GET http://host/path`) for
the allowed hosts only (the Debian mirrors), from clients on private addresses only: it is not an
open proxy while a test runs. Each request's URL and status go to LOG, one line each, so a test can
check that a machine's apt went through it. Prints "ready" once it listens.
"""
import http.server
import ipaddress
import shutil
import sys
import urllib.error
import urllib.parse
import urllib.request

PASSED_REQUEST_HEADERS = ("If-Modified-Since", "If-None-Match", "Range", "If-Range", "Cache-Control")
PASSED_RESPONSE_HEADERS = ("Content-Type", "Content-Length", "Last-Modified", "ETag", "Content-Range",
                           "Accept-Ranges")


class Proxy(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    allowed = set()
    log_path = ""

    def log_message(self, fmt, *args):  # quiet on stderr; the log file has what matters
        pass

    def record(self, status):
        with open(self.log_path, "a", encoding="utf-8") as log:
            log.write(f"{status} {self.command} {self.path}\n")

    def refuse(self, status, why):
        self.record(status)
        body = why.encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if not ipaddress.ip_address(self.client_address[0]).is_private:
            return self.refuse(403, "only private clients")
        url = urllib.parse.urlsplit(self.path)
        if url.scheme != "http" or url.hostname not in self.allowed:
            return self.refuse(403, "host not allowed")
        request = urllib.request.Request(self.path, method=self.command)
        for name in PASSED_REQUEST_HEADERS:
            if self.headers.get(name):
                request.add_header(name, self.headers[name])
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            response = opener.open(request, timeout=120)
        except urllib.error.HTTPError as e:
            response = e
        except OSError as e:
            return self.refuse(502, str(e))
        with response:
            self.record(response.status)
            self.send_response(response.status)
            for name in PASSED_RESPONSE_HEADERS:
                if response.headers.get(name):
                    self.send_header(name, response.headers[name])
            if not response.headers.get("Content-Length"):
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            if self.command != "HEAD":
                shutil.copyfileobj(response, self.wfile)

    do_HEAD = do_GET

    def do_CONNECT(self):
        self.refuse(405, "no CONNECT")


def main():
    port, log_path, *allowed = sys.argv[1:]
    Proxy.allowed = set(allowed)
    Proxy.log_path = log_path
    server = http.server.ThreadingHTTPServer(("0.0.0.0", int(port)), Proxy)
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
