"""A small CRI v1 client for the tests: grpcio carries hand-encoded protobuf (the few messages the
tests send, field numbers from k8s.io/cri-api's runtime/v1 api.proto), and the streaming
server's exec is spoken over WebSocket (the v4.channel.k8s.io subprotocol).

Messages are built with msg(): msg((1, "id"), (2, msg(...))); repeated fields repeat the number;
a map is a repeated entry message {1: key, 2: value}. Replies come back decoded as
{field: [values]} (ttrpc_client.decode), read with the helpers below.
"""
import base64
import json
import os
import struct

import grpc

from ttrpc_client import decode, varint

RUNTIME = "/runtime.v1.RuntimeService/"
IMAGES = "/runtime.v1.ImageService/"

CONTAINER_CREATED, CONTAINER_RUNNING, CONTAINER_EXITED = 0, 1, 2
CONTAINER, NODE = 1, 2  # NamespaceMode (POD = 0 is the default: kubelet always says CONTAINER)


def msg(*fields):
    """Encodes fields ((number, value), ...): str/bytes length-delimited, bool and int varints
    (negative ints as 64-bit two's complement, as int64 wants), None left out."""
    out = bytearray()
    for num, value in fields:
        if value is None:
            continue
        if isinstance(value, bool):
            value = int(value)
        if isinstance(value, int):
            out += varint(num << 3) + varint(value & (2 ** 64 - 1))
        else:
            if isinstance(value, str):
                value = value.encode()
            out += varint(num << 3 | 2) + varint(len(value)) + value
    return bytes(out)


def map_entries(num, mapping):
    return [(num, msg((1, k), (2, v))) for k, v in (mapping or {}).items()]


def first(decoded, num, default=None):
    v = decoded.get(num)
    return v[0] if v else default


def sub(decoded, *path):
    """The nested message at path of field numbers (each step the first value), decoded."""
    for num in path:
        v = first(decoded, num)
        if v is None:
            return {}
        decoded = decode(v)
    return decoded


def text(decoded, num):
    v = first(decoded, num)
    return v.decode() if v is not None else ""


def signed(n):
    return n - 2 ** 64 if n >= 2 ** 63 else n


def resources(cpu_period=None, cpu_quota=None, cpu_shares=None, memory=None, cpuset_cpus=None):
    """LinuxContainerResources."""
    return msg((1, cpu_period), (2, cpu_quota), (3, cpu_shares), (4, memory), (6, cpuset_cpus))


class Cri:
    def __init__(self, endpoint):
        self.channel = grpc.insecure_channel(endpoint)

    def close(self):
        self.channel.close()

    def call(self, service_method, request, timeout=60):
        return decode(self.channel.unary_unary(service_method)(request, timeout=timeout))

    # Pods

    def pod_config(self, name, cgroup_parent, hostname=None, log_dir=None, dns=None, port_mappings=(),
                   host_network=False):
        uid = name + "-uid"
        ns_opts = msg((1, NODE if host_network else None), (2, CONTAINER))
        linux = msg((1, cgroup_parent), (2, msg((1, ns_opts))))
        return msg((1, msg((1, name), (2, uid), (3, "husk-cri-test"), (4, 0))), (2, hostname), (3, log_dir),
                   (4, msg(*[(1, s) for s in dns]) if dns else None),
                   *[(5, msg((2, cport), (3, hport))) for cport, hport in port_mappings], (8, linux))

    def run_pod(self, config, handler):
        r = self.call(RUNTIME + "RunPodSandbox", msg((1, config), (2, handler)), timeout=120)
        return text(r, 1)

    def pod_status(self, pod_id):
        return sub(self.call(RUNTIME + "PodSandboxStatus", msg((1, pod_id))), 1)

    def pod_ip(self, pod_id):
        return text(sub(self.pod_status(pod_id), 5), 1)

    def stop_pod(self, pod_id):
        self.call(RUNTIME + "StopPodSandbox", msg((1, pod_id)), timeout=120)

    def remove_pod(self, pod_id):
        self.call(RUNTIME + "RemovePodSandbox", msg((1, pod_id)), timeout=120)

    def list_pods(self):
        r = self.call(RUNTIME + "ListPodSandbox", b"")
        return [text(decode(p), 1) for p in r.get(1, [])]

    # Containers

    def create(self, pod_id, pod_config, name, image, command=(), args=(), log_path=None, resources_msg=None,
               envs=None, tty=False, stdin=False, masked_paths=()):
        security = msg((3, msg((2, CONTAINER))), *[(13, p) for p in masked_paths])
        linux = msg((1, resources_msg), (2, security))
        config = msg((1, msg((1, name))), (2, msg((1, image))), *[(3, c) for c in command], *[(4, a) for a in args],
                     *[(6, msg((1, k), (2, v))) for k, v in (envs or {}).items()], (11, log_path),
                     (12, stdin or None), (14, tty or None), (15, linux))
        r = self.call(RUNTIME + "CreateContainer", msg((1, pod_id), (2, config), (3, pod_config)), timeout=120)
        return text(r, 1)

    def start(self, cid):
        self.call(RUNTIME + "StartContainer", msg((1, cid)), timeout=120)

    def stop(self, cid, timeout=0):
        self.call(RUNTIME + "StopContainer", msg((1, cid), (2, timeout)), timeout=timeout + 60)

    def remove(self, cid):
        self.call(RUNTIME + "RemoveContainer", msg((1, cid)))

    def status(self, cid):
        """ContainerStatus as a dict: state, exit_code, reason, message, log_path, and the
        resources' memory limit and CPU quota (what UpdateContainerResources changed)."""
        s = sub(self.call(RUNTIME + "ContainerStatus", msg((1, cid))), 1)
        res = sub(s, 16, 1)
        return {"state": first(s, 3, 0), "exit_code": signed(first(s, 7, 0)), "reason": text(s, 10),
                "message": text(s, 11), "log_path": text(s, 15), "finished_at": first(s, 6, 0),
                "memory_limit": first(res, 4, 0), "cpu_quota": signed(first(res, 2, 0))}

    def exec_sync(self, cid, cmd, timeout=0):
        r = self.call(RUNTIME + "ExecSync", msg((1, cid), *[(2, c) for c in cmd], (3, timeout or None)),
                      timeout=(timeout or 60) + 30)
        return first(r, 1, b"").decode(), first(r, 2, b"").decode(), signed(first(r, 3, 0))

    def exec_url(self, cid, cmd, tty=False, stdin=False):
        r = self.call(RUNTIME + "Exec", msg((1, cid), *[(2, c) for c in cmd], (3, tty or None), (4, stdin or None),
                                            (5, True), (6, None if tty else True)))
        return text(r, 1)

    def stats(self, cid):
        """(cpu usage_core_nano_seconds, memory working_set_bytes)."""
        s = sub(self.call(RUNTIME + "ContainerStats", msg((1, cid))), 1)
        cpu = first(sub(s, 2, 2), 1, 0)
        mem = first(sub(s, 3, 2), 1, 0)
        return cpu, mem

    def update(self, cid, resources_msg):
        self.call(RUNTIME + "UpdateContainerResources", msg((1, cid), (2, resources_msg)))

    def reopen_log(self, cid):
        self.call(RUNTIME + "ReopenContainerLog", msg((1, cid)))

    def version(self):
        r = self.call(RUNTIME + "Version", msg((1, "v1")))
        return text(r, 2), text(r, 3)


def websocket_exec(sock, url, stdin_data=None):
    """Runs a streaming-server exec URL over `sock` (a TCP socket to the URL's host, inside the
    right network namespace) with the v4.channel.k8s.io protocol; returns (stdout, stderr,
    status) where status is the error channel's JSON (Status: {"status": "Success"} or a
    failure with the exit code in details.causes)."""
    assert url.startswith("http://")
    host, path = url[len("http://"):].split("/", 1)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall((f"GET /{path} HTTP/1.1\r\nHost: {host}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                  f"Origin: http://{host}\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                  f"Sec-WebSocket-Protocol: v4.channel.k8s.io\r\n\r\n").encode())
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("streaming server closed during the handshake: " + buf.decode(errors="replace"))
        buf += chunk
    head, buf = buf.split(b"\r\n\r\n", 1)
    if b" 101 " not in head.split(b"\r\n")[0]:
        raise ConnectionError("no websocket upgrade: " + head.decode(errors="replace"))
    if stdin_data is not None:
        _ws_send(sock, b"\x00" + stdin_data)
    out = {1: b"", 2: b"", 3: b""}
    while True:
        frame, buf = _ws_read(sock, buf)
        if frame is None:
            break
        opcode, payload = frame
        if opcode == 8:
            break
        if opcode in (1, 2) and payload:
            ch, data = payload[0], payload[1:]
            out.setdefault(ch, b"")
            out[ch] += data
    status = json.loads(out[3]) if out[3] else None
    return out[1].decode(errors="replace"), out[2].decode(errors="replace"), status


def _ws_send(sock, payload, opcode=2):
    mask = os.urandom(4)
    n = len(payload)
    head = bytes([0x80 | opcode])
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 65536:
        head += bytes([0x80 | 126]) + struct.pack(">H", n)
    else:
        head += bytes([0x80 | 127]) + struct.pack(">Q", n)
    sock.sendall(head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))


def _ws_read(sock, buf):
    """One frame (opcode, payload) from buf + the socket, and the rest of buf; (None, b"") at
    end of stream."""
    def need(n):
        nonlocal buf
        while len(buf) < n:
            chunk = sock.recv(65536)
            if not chunk:
                return False
            buf += chunk
        return True

    if not need(2):
        return None, b""
    opcode, n = buf[0] & 0x0F, buf[1] & 0x7F
    off = 2
    if n == 126:
        if not need(4):
            return None, b""
        n, off = struct.unpack(">H", buf[2:4])[0], 4
    elif n == 127:
        if not need(10):
            return None, b""
        n, off = struct.unpack(">Q", buf[2:10])[0], 10
    if not need(off + n):
        return None, b""
    return (opcode, buf[off:off + n]), buf[off + n:]
