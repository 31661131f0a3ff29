"""A minimal ttrpc client for tests: hand-encoded protobuf (strings, varints, nested messages),
enough to call the shim's Task service directly and to send it malformed input."""
import socket
import struct


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def field(num, value):
    """Encodes one field: int -> varint, bool -> varint, str/bytes -> length-delimited."""
    if isinstance(value, bool):
        value = int(value)
    if isinstance(value, int):
        return varint(num << 3) + varint(value)
    if isinstance(value, str):
        value = value.encode()
    return varint(num << 3 | 2) + varint(len(value)) + value


def message(*fields):
    """message((1, "id"), (4, True)) -> bytes; fields whose value is None are left out."""
    return b"".join(field(n, v) for n, v in fields if v is not None)


def decode(data):
    """{field number: [values]}; varints as int, length-delimited as bytes."""
    out, i = {}, 0
    while i < len(data):
        key, i = _read_varint(data, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            v, i = _read_varint(data, i)
        elif wt == 2:
            n, i = _read_varint(data, i)
            v, i = data[i:i + n], i + n
        elif wt == 1:
            v, i = data[i:i + 8], i + 8
        elif wt == 5:
            v, i = data[i:i + 4], i + 4
        else:
            raise ValueError(f"wire type {wt}")
        out.setdefault(num, []).append(v)
    return out


def _read_varint(data, i):
    shift = n = 0
    while True:
        b = data[i]
        i += 1
        n |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return n, i


class Client:
    def __init__(self, path, timeout=20):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.next_stream = 1
        self.buf = b""

    def close(self):
        self.sock.close()

    def send_frame(self, stream, payload, mtype=1, flags=0):
        self.sock.sendall(struct.pack(">IIBB", len(payload), stream, mtype, flags) + payload)

    def send_request(self, method, payload=b"", service="containerd.task.v2.Task"):
        stream = self.next_stream
        self.next_stream += 2
        self.send_frame(stream, message((1, service), (2, method), (3, payload)))
        return stream

    def read_response(self):
        """(stream, status code, status message, payload) of the next response frame."""
        while True:
            if len(self.buf) >= 10:
                length, stream, mtype, _ = struct.unpack(">IIBB", self.buf[:10])
                if len(self.buf) >= 10 + length:
                    body, self.buf = self.buf[10:10 + length], self.buf[10 + length:]
                    assert mtype == 2, f"frame type {mtype}"
                    r = decode(body)
                    status = decode(r.get(1, [b""])[0])
                    code = status.get(1, [0])[0]
                    msg = status.get(2, [b""])[0].decode()
                    return stream, code, msg, r.get(2, [b""])[0]
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("shim closed the connection")
            self.buf += chunk

    def call(self, method, payload=b"", service="containerd.task.v2.Task"):
        stream = self.send_request(method, payload, service)
        got, code, msg, body = self.read_response()
        assert got == stream, f"answer on stream {got}, asked on {stream}"
        return code, msg, decode(body)
