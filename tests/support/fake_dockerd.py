#!/usr/bin/env python3
"""A stand-in for dockerd's TLS API on 127.0.0.1, for integration tests (python3 stdlib only).

Mutual TLS like `dockerd --tlsverify`: the client must present a certificate signed by --ca.
Serves GET /_ping ("OK"), /version and /info (JSON fixture files), also under /vX.Y/; GET
/containers/json and /containers/ID/json from --containers (a JSON array of inspect objects);
POST /containers/create as a daemon with berth-authz refuses a privileged container (--authz
refuse, the default) or as one without a plugin answers for an image it does not have (--authz
none); a create that is not a privileged JSON request is answered 400.
Prints its port on the first line of stdout, once it listens. With --delay N, it prints the port
as soon as the socket is bound (reserved, connections refused) and listens only after N seconds,
like a daemon that is still starting.
"""

import argparse
import http.server
import json
import re
import ssl
import sys
import time

API_VERSION = "1.41"
SERVER = "Docker/20.10.24+dfsg1 (linux)"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ca", required=True, help="CA that signs accepted client certificates")
    parser.add_argument("--cert", required=True, help="server certificate (PEM)")
    parser.add_argument("--key", required=True, help="server key (PEM)")
    parser.add_argument("--info", required=True, help="body of GET /info")
    parser.add_argument("--version", required=True, help="body of GET /version")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds before listening")
    parser.add_argument("--info-status", type=int, default=200, help="HTTP status of GET /info")
    parser.add_argument("--client-cert", choices=["required", "optional"], default="required",
                        help="optional: a client without a certificate is served too (tlsverify off)")
    parser.add_argument("--containers", help="JSON array of the running containers' inspect objects")
    parser.add_argument("--authz", choices=["refuse", "none"], default="refuse",
                        help="how POST /containers/create of a privileged container is answered")
    return parser.parse_args()


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = SERVER
    sys_version = ""

    def answer(self, status, body, content_type):
        self.send_response(status)
        self.send_header("Api-Version", API_VERSION)
        self.send_header("Docker-Experimental", "false")
        self.send_header("Ostype", "linux")
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        path = re.sub(r"^/v[0-9]+\.[0-9]+(?=/)", "", self.path.split("?", 1)[0])
        opts = self.server.opts
        if path == "/_ping":
            self.answer(200, b"OK", "text/plain; charset=utf-8")
        elif path == "/version":
            self.answer(200, read_bytes(opts.version), "application/json")
        elif self.get_containers(path):
            pass
        elif path == "/info":
            if opts.info_status == 200:
                self.answer(200, read_bytes(opts.info), "application/json")
            else:
                body = b'{"message":"fake dockerd: /info fails on purpose"}\n'
                self.answer(opts.info_status, body, "application/json")
        else:
            self.answer(404, b'{"message":"page not found"}\n', "application/json")

    def containers(self):
        opts = self.server.opts
        return json.loads(read_bytes(opts.containers)) if opts.containers else []

    def answer_json(self, status, value):
        self.answer(status, json.dumps(value).encode() + b"\n", "application/json")

    def get_containers(self, path):
        if path == "/containers/json":
            self.answer_json(200, [{"Id": c["Id"], "Names": [c.get("Name", "")]} for c in self.containers()])
            return True
        match = re.fullmatch(r"/containers/([0-9a-f]+)/json", path)
        if match:
            found = [c for c in self.containers() if c["Id"] == match.group(1)]
            if found:
                self.answer_json(200, found[0])
            else:
                self.answer_json(404, {"message": "No such container: " + match.group(1)})
            return True
        return False

    def do_POST(self):
        path = re.sub(r"^/v[0-9]+\.[0-9]+(?=/)", "", self.path.split("?", 1)[0])
        body = self.rfile.read(int(self.headers.get("Content-Length", "0") or "0"))
        if path != "/containers/create":
            self.answer_json(404, {"message": "page not found"})
            return
        try:
            request = json.loads(body)
        except ValueError:
            request = None
        privileged = (self.headers.get("Content-Type", "").startswith("application/json") and
                      isinstance(request, dict) and isinstance(request.get("HostConfig"), dict) and
                      request["HostConfig"].get("Privileged") is True)
        if not privileged:
            self.answer_json(400, {"message": "fake dockerd: expected a privileged container as JSON"})
        elif self.server.opts.authz == "refuse":
            self.answer_json(403, {"message": "authorization denied by plugin berth-authz: berth-authz: "
                                              "--privileged is refused on this host "
                                              "(rule privileged in /etc/berth/authz.yaml)"})
        else:
            self.answer_json(404, {"message": "No such image: " + str(request.get("Image"))})

    def do_DELETE(self):
        # docker node rm --force: /nodes/ID?force=true; the answer names what was asked.
        path = re.sub(r"^/v[0-9]+\.[0-9]+(?=/)", "", self.path.split("?", 1)[0])
        query = self.path.split("?", 1)[1] if "?" in self.path else ""
        if path.startswith("/nodes/") and query == "force=true":
            self.answer_json(200, {"deleted": path[len("/nodes/"):]})
        else:
            self.answer_json(404, {"message": "page not found"})

    def log_message(self, format, *args):  # noqa: A002 (BaseHTTPRequestHandler's signature)
        pass


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # A refused handshake is expected in tests; one line on stderr, no traceback.
        print(f"fake_dockerd: {sys.exc_info()[1]}", file=sys.stderr, flush=True)


def main():
    opts = parse_args()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(opts.cert, opts.key)
    context.load_verify_locations(cafile=opts.ca)
    context.verify_mode = ssl.CERT_REQUIRED if opts.client_cert == "required" else ssl.CERT_OPTIONAL

    server = Server(("127.0.0.1", 0), Handler, bind_and_activate=False)
    server.opts = opts
    server.server_bind()
    if opts.delay > 0:
        print(server.server_address[1], flush=True)
        time.sleep(opts.delay)
        server.server_activate()
    else:
        # Listening before the port is printed: the caller may connect as soon as it reads it.
        server.server_activate()
        print(server.server_address[1], flush=True)
    # The handshake runs in the request's thread, so a stalled client cannot block accept().
    server.socket = context.wrap_socket(server.socket, server_side=True,
                                        do_handshake_on_connect=False)
    try:
        server.serve_forever(poll_interval=0.1)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
