"""A read-only registry (the pull half of the OCI distribution API) serving an OCI image layout
from oci_image.Layout, so that CRI PullImage works offline: containerd's registry mirrors point
at it. Repositories are the names' paths without the host (registry.k8s.io/pause:3.6 ->
pause:3.6), the host being the mirror's business.

Usage: python3 oci_registry.py LAYOUT ADDRESS PORT   (prints "ready" once it listens)
"""
import http.server
import json
import os
import re
import sys


def load_tags(layout):
    """{(repository, tag): manifest descriptor} from the layout's index."""
    with open(os.path.join(layout, "index.json")) as f:
        index = json.load(f)
    tags = {}
    for desc in index["manifests"]:
        name = desc["annotations"]["io.containerd.image.name"]
        repo, tag = name.rsplit(":", 1)
        tags[(repo.split("/", 1)[1], tag)] = desc
    return tags


def make_handler(layout, tags):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):
            sys.stderr.write("registry: " + fmt % args + "\n")

        def _send(self, code, body=b"", headers=()):
            self.send_response(code)
            for k, v in headers:
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _blob(self, digest):
            if not re.fullmatch(r"sha256:[0-9a-f]{64}", digest):
                return None
            try:
                with open(os.path.join(layout, "blobs", "sha256", digest[7:]), "rb") as f:
                    return f.read()
            except FileNotFoundError:
                return None

        def do_GET(self):
            path = self.path.split("?", 1)[0]
            if path in ("/v2", "/v2/"):
                return self._send(200, b"{}", [("Content-Type", "application/json"),
                                               ("Docker-Distribution-API-Version", "registry/2.0")])
            m = re.fullmatch(r"/v2/(.+)/(manifests|blobs)/([^/]+)", path)
            if not m:
                return self._send(404)
            repo, kind, ref = m.groups()
            media = "application/octet-stream"
            if kind == "manifests":
                desc = tags.get((repo, ref))
                if desc is None and not any(r == repo and d["digest"] == ref for (r, _), d in tags.items()):
                    return self._send(404, b'{"errors":[{"code":"MANIFEST_UNKNOWN"}]}')
                ref, media = (desc["digest"] if desc else ref), "application/vnd.oci.image.manifest.v1+json"
            body = self._blob(ref)
            if body is None:
                return self._send(404, b'{"errors":[{"code":"BLOB_UNKNOWN"}]}')
            self._send(200, body, [("Content-Type", media), ("Docker-Content-Digest", ref)])

        do_HEAD = do_GET

    return Handler


def main():
    layout, address, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    server = http.server.ThreadingHTTPServer((address, port), make_handler(layout, load_tags(layout)))
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
