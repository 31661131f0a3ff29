#include "dbus.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <cstring>

#include "common/proc.hpp"
#include "common/unix_socket.hpp"

namespace husk::dbus {
namespace {

// The wire format's limits: a message of at most 128 MiB, an array of at most 64 MiB, and
// containers nested at most 64 deep (32 arrays and 32 structs).
constexpr size_t kMaxMessage = 128u << 20;
constexpr size_t kMaxArray = 64u << 20;
constexpr int kMaxDepth = 64;

size_t alignment(char type) {
    switch (type) {
        case 'y': case 'g': case 'v': return 1;
        case 'n': case 'q': return 2;
        case 'b': case 'i': case 'u': case 's': case 'o': case 'a': case 'h': return 4;
        case 'x': case 't': case 'd': case '(': case '{': return 8;
    }
    throw Error(std::string("D-Bus: unknown type code '") + type + "'");
}

bool is_basic(char t) { return std::string_view("ybnqiuxtdsogh").find(t) != std::string_view::npos; }

// The end of the single complete type starting at sig[i].
size_t type_end(std::string_view sig, size_t i, int depth = 0) {
    if (i >= sig.size()) throw Error("D-Bus: signature \"" + std::string(sig) + "\" ends inside a type");
    if (depth > kMaxDepth) throw Error("D-Bus: signature nested too deep");
    char c = sig[i];
    if (is_basic(c) || c == 'v') return i + 1;
    if (c == 'a') return type_end(sig, i + 1, depth + 1);
    if (c == '(' || c == '{') {
        char close = c == '(' ? ')' : '}';
        size_t j = i + 1, n = 0;
        while (j < sig.size() && sig[j] != close) {
            j = type_end(sig, j, depth + 1);
            ++n;
        }
        if (j >= sig.size() || n == 0 || (c == '{' && (n != 2 || !is_basic(sig[i + 1]))))
            throw Error("D-Bus: invalid signature \"" + std::string(sig) + "\"");
        return j + 1;
    }
    throw Error(std::string("D-Bus: unknown type code '") + c + "' in signature \"" + std::string(sig) + "\"");
}

void check_signature(std::string_view sig) {
    if (sig.size() > 255) throw Error("D-Bus: signature longer than 255");
    for (size_t i = 0; i < sig.size();) i = type_end(sig, i);
}

class Writer {
public:
    explicit Writer(std::string& out) : out_(out), base_(out.size()) {}
    void pad(size_t a) {
        while ((out_.size() - base_) % a) out_.push_back('\0');
    }
    void u8(uint8_t v) { out_.push_back(static_cast<char>(v)); }
    template <typename T>
    void fixed(T v) {
        pad(sizeof(T));
        char b[sizeof(T)];
        std::memcpy(b, &v, sizeof(T));  // little-endian host (x86-64, arm64)
        out_.append(b, sizeof(T));
    }
    void string(const std::string& s) {
        if (s.find('\0') != std::string::npos) throw Error("D-Bus: a string must not contain NUL");
        fixed<uint32_t>(static_cast<uint32_t>(s.size()));
        out_.append(s);
        out_.push_back('\0');
    }
    void sig(const std::string& s) {
        check_signature(s);
        u8(static_cast<uint8_t>(s.size()));
        out_.append(s);
        out_.push_back('\0');
    }
    void value(const Value& v) {
        switch (v.type()) {
            case 'y': u8(static_cast<uint8_t>(v.as_uint())); break;
            case 'b': fixed<uint32_t>(v.as_bool() ? 1 : 0); break;
            case 'n': fixed<int16_t>(static_cast<int16_t>(v.as_int())); break;
            case 'q': fixed<uint16_t>(static_cast<uint16_t>(v.as_uint())); break;
            case 'i': fixed<int32_t>(static_cast<int32_t>(v.as_int())); break;
            case 'u': fixed<uint32_t>(static_cast<uint32_t>(v.as_uint())); break;
            case 'x': fixed<int64_t>(v.as_int()); break;
            case 't': fixed<uint64_t>(v.as_uint()); break;
            case 'd': fixed<double>(v.as_double()); break;
            case 's': case 'o': string(v.str()); break;
            case 'g': sig(v.str()); break;
            case 'v':
                sig(v.items()[0].signature());
                value(v.items()[0]);
                break;
            case 'a': {
                pad(4);
                size_t len_at = out_.size();
                fixed<uint32_t>(0);
                pad(alignment(v.element()[0]));
                size_t start = out_.size();
                for (const auto& item : v.items()) {
                    if (item.signature() != v.element())
                        throw Error("D-Bus: array of " + v.element() + " holds a " + item.signature());
                    value(item);
                }
                size_t len = out_.size() - start;
                if (len > kMaxArray) throw Error("D-Bus: array longer than 64 MiB");
                auto n = static_cast<uint32_t>(len);
                std::memcpy(&out_[len_at], &n, 4);
                break;
            }
            case '(': case '{':
                pad(8);
                for (const auto& f : v.items()) value(f);
                break;
            default: throw Error(std::string("D-Bus: cannot marshal type '") + v.type() + "'");
        }
    }

private:
    std::string& out_;
    size_t base_;
};

class Reader {
public:
    Reader(std::string_view buf, bool swap) : buf_(buf), swap_(swap) {}
    size_t pos = 0;

    void pad(size_t a) {
        size_t to = (pos + a - 1) / a * a;
        need(to - pos);
        for (; pos < to; ++pos)
            if (buf_[pos] != '\0') throw Error("D-Bus: non-zero padding");
    }
    void need(size_t n) const {
        if (n > buf_.size() - pos) throw Error("D-Bus: message truncated");
    }
    uint8_t u8() {
        need(1);
        return static_cast<uint8_t>(buf_[pos++]);
    }
    template <typename T>
    T fixed() {
        pad(sizeof(T));
        need(sizeof(T));
        unsigned char b[sizeof(T)];
        std::memcpy(b, buf_.data() + pos, sizeof(T));
        if (swap_)
            for (size_t i = 0; i < sizeof(T) / 2; ++i) std::swap(b[i], b[sizeof(T) - 1 - i]);
        T v;
        std::memcpy(&v, b, sizeof(T));
        pos += sizeof(T);
        return v;
    }
    std::string string() {
        uint32_t n = fixed<uint32_t>();
        need(size_t(n) + 1);
        std::string s(buf_.substr(pos, n));
        if (buf_[pos + n] != '\0' || s.find('\0') != std::string::npos) throw Error("D-Bus: malformed string");
        pos += size_t(n) + 1;
        return s;
    }
    std::string sig() {
        uint8_t n = u8();
        need(size_t(n) + 1);
        std::string s(buf_.substr(pos, n));
        if (buf_[pos + n] != '\0') throw Error("D-Bus: malformed signature");
        pos += size_t(n) + 1;
        check_signature(s);
        return s;
    }

    // One value of the single complete type `t`.
    Value value(std::string_view t, int depth = 0) {
        if (depth > kMaxDepth) throw Error("D-Bus: value nested too deep");
        switch (t[0]) {
            case 'y': return Value::byte(u8());
            case 'b': {
                uint32_t b = fixed<uint32_t>();
                if (b > 1) throw Error("D-Bus: boolean other than 0 or 1");
                return Value::boolean(b == 1);
            }
            case 'n': return Value::int16(fixed<int16_t>());
            case 'q': return Value::uint16(fixed<uint16_t>());
            case 'i': return Value::int32(fixed<int32_t>());
            case 'u': case 'h': return Value::uint32(fixed<uint32_t>());
            case 'x': return Value::int64(fixed<int64_t>());
            case 't': return Value::uint64(fixed<uint64_t>());
            case 'd': return Value::dbl(fixed<double>());
            case 's': return Value::string(string());
            case 'o': return Value::object_path(string());
            case 'g': return Value::signature(sig());
            case 'v': {
                std::string inner = sig();
                if (inner.empty() || type_end(inner, 0) != inner.size())
                    throw Error("D-Bus: variant signature \"" + inner + "\" is not one complete type");
                return Value::variant(value(inner, depth + 1));
            }
            case 'a': {
                uint32_t len = fixed<uint32_t>();
                if (len > kMaxArray) throw Error("D-Bus: array longer than 64 MiB");
                std::string elem(t.substr(1, type_end(t, 1) - 1));
                pad(alignment(elem[0]));
                need(len);
                size_t end = pos + len;
                std::vector<Value> items;
                while (pos < end) items.push_back(value(elem, depth + 1));
                if (pos != end) throw Error("D-Bus: array elements overrun its length");
                return Value::array(elem, std::move(items));
            }
            case '(': case '{': {
                pad(8);
                std::vector<Value> fields;
                size_t end = type_end(t, 0) - 1;
                for (size_t i = 1; i < end; i = type_end(t, i)) {
                    std::string_view field = t.substr(i, type_end(t, i) - i);
                    fields.push_back(value(field, depth + 1));
                }
                if (t[0] == '{') return Value::dict_entry(fields[0], fields[1]);
                return Value::structure(std::move(fields));
            }
        }
        throw Error(std::string("D-Bus: cannot read type '") + t[0] + "'");
    }

private:
    std::string_view buf_;
    bool swap_;
};

enum Field : uint8_t {
    kPath = 1, kInterface = 2, kMember = 3, kErrorName = 4, kReplySerial = 5, kDestination = 6, kSender = 7,
    kSignature = 8, kUnixFds = 9
};

std::string hex(const std::string& s) {
    static const char* digits = "0123456789abcdef";
    std::string out;
    for (unsigned char c : s) {
        out += digits[c >> 4];
        out += digits[c & 15];
    }
    return out;
}

// D-Bus addresses escape bytes as %xx.
std::string unescape(const std::string& s) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
            std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
            out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
            i += 2;
        } else {
            out += s[i];
        }
    }
    return out;
}

}  // namespace

Value Value::byte(uint8_t v) { Value x; x.type_ = 'y'; x.bits_ = v; return x; }
Value Value::boolean(bool v) { Value x; x.type_ = 'b'; x.bits_ = v; return x; }
Value Value::int16(int16_t v) { Value x; x.type_ = 'n'; x.bits_ = static_cast<uint64_t>(int64_t{v}); return x; }
Value Value::uint16(uint16_t v) { Value x; x.type_ = 'q'; x.bits_ = v; return x; }
Value Value::int32(int32_t v) { Value x; x.type_ = 'i'; x.bits_ = static_cast<uint64_t>(int64_t{v}); return x; }
Value Value::uint32(uint32_t v) { Value x; x.type_ = 'u'; x.bits_ = v; return x; }
Value Value::int64(int64_t v) { Value x; x.type_ = 'x'; x.bits_ = static_cast<uint64_t>(v); return x; }
Value Value::uint64(uint64_t v) { Value x; x.type_ = 't'; x.bits_ = v; return x; }
Value Value::dbl(double v) {
    Value x;
    x.type_ = 'd';
    std::memcpy(&x.bits_, &v, sizeof v);
    return x;
}
Value Value::string(std::string v) { Value x; x.type_ = 's'; x.str_ = std::move(v); return x; }
Value Value::object_path(std::string v) { Value x; x.type_ = 'o'; x.str_ = std::move(v); return x; }
Value Value::signature(std::string v) { Value x; x.type_ = 'g'; x.str_ = std::move(v); return x; }
Value Value::array(std::string elem, std::vector<Value> items) {
    if (elem.empty() || type_end(elem, 0) != elem.size())
        throw Error("D-Bus: \"" + elem + "\" is not one complete type");
    Value x;
    x.type_ = 'a';
    x.elem_ = std::move(elem);
    x.items_ = std::move(items);
    return x;
}
Value Value::structure(std::vector<Value> fields) {
    if (fields.empty()) throw Error("D-Bus: a struct needs at least one field");
    Value x;
    x.type_ = '(';
    x.items_ = std::move(fields);
    return x;
}
Value Value::dict_entry(Value key, Value value) {
    if (!is_basic(key.type_)) throw Error("D-Bus: a dict entry's key must be a basic type");
    Value x;
    x.type_ = '{';
    x.items_ = {std::move(key), std::move(value)};
    return x;
}
Value Value::variant(Value inner) {
    Value x;
    x.type_ = 'v';
    x.items_ = {std::move(inner)};
    return x;
}

std::string Value::signature() const {
    switch (type_) {
        case 'a': return "a" + elem_;
        case '(': case '{': {
            std::string s(1, type_);
            for (const auto& f : items_) s += f.signature();
            return s + (type_ == '(' ? ')' : '}');
        }
        default: return std::string(1, type_);
    }
}

const std::string& Value::str() const {
    if (type_ != 's' && type_ != 'o' && type_ != 'g') throw Error(std::string("D-Bus: expected a string, got ") + signature());
    return str_;
}
bool Value::as_bool() const {
    if (type_ != 'b') throw Error("D-Bus: expected a boolean, got " + signature());
    return bits_ != 0;
}
uint64_t Value::as_uint() const {
    if (std::string_view("yqut").find(type_) == std::string_view::npos)
        throw Error("D-Bus: expected an unsigned integer, got " + signature());
    return bits_;
}
int64_t Value::as_int() const {
    if (std::string_view("nix").find(type_) == std::string_view::npos)
        throw Error("D-Bus: expected a signed integer, got " + signature());
    return static_cast<int64_t>(bits_);
}
double Value::as_double() const {
    if (type_ != 'd') throw Error("D-Bus: expected a double, got " + signature());
    double d;
    std::memcpy(&d, &bits_, sizeof d);
    return d;
}
const std::vector<Value>& Value::items() const {
    if (std::string_view("a({v").find(type_) == std::string_view::npos)
        throw Error("D-Bus: expected a container, got " + signature());
    return items_;
}
bool Value::operator==(const Value& o) const {
    return type_ == o.type_ && bits_ == o.bits_ && str_ == o.str_ && elem_ == o.elem_ && items_ == o.items_;
}

std::string Message::body_signature() const {
    std::string s;
    for (const auto& v : body) s += v.signature();
    return s;
}

Message Message::call(std::string destination, std::string path, std::string interface, std::string member,
                      std::vector<Value> body) {
    Message m;
    m.type = MessageType::MethodCall;
    m.destination = std::move(destination);
    m.path = std::move(path);
    m.interface = std::move(interface);
    m.member = std::move(member);
    m.body = std::move(body);
    return m;
}

std::string marshal(const Message& m) {
    std::string body;
    Writer bw(body);
    for (const auto& v : m.body) bw.value(v);

    std::vector<Value> fields;
    auto field = [&](Field code, Value v) { fields.push_back(Value::structure({Value::byte(code), Value::variant(std::move(v))})); };
    if (!m.path.empty()) field(kPath, Value::object_path(m.path));
    if (!m.interface.empty()) field(kInterface, Value::string(m.interface));
    if (!m.member.empty()) field(kMember, Value::string(m.member));
    if (!m.error_name.empty()) field(kErrorName, Value::string(m.error_name));
    if (m.reply_serial) field(kReplySerial, Value::uint32(m.reply_serial));
    if (!m.destination.empty()) field(kDestination, Value::string(m.destination));
    if (!m.sender.empty()) field(kSender, Value::string(m.sender));
    if (!m.body.empty()) field(kSignature, Value::signature(m.body_signature()));

    std::string out;
    Writer w(out);
    w.u8('l');
    w.u8(static_cast<uint8_t>(m.type));
    w.u8(m.flags);
    w.u8(1);  // protocol version
    w.fixed<uint32_t>(static_cast<uint32_t>(body.size()));
    w.fixed<uint32_t>(m.serial);
    w.value(Value::array("(yv)", std::move(fields)));
    w.pad(8);
    out += body;
    if (out.size() > kMaxMessage) throw Error("D-Bus: message longer than 128 MiB");
    return out;
}

size_t unmarshal(std::string_view buf, Message& out) {
    if (buf.size() < 16) return 0;
    if (buf[0] != 'l' && buf[0] != 'B') throw Error("D-Bus: unknown byte order in message");
    Reader r(buf, buf[0] == 'B');
    r.pos = 4;
    uint32_t body_len = r.fixed<uint32_t>();
    uint32_t serial = r.fixed<uint32_t>();
    uint32_t fields_len = r.fixed<uint32_t>();
    if (buf[3] != 1) throw Error("D-Bus: unknown protocol version");
    size_t header = (16 + size_t(fields_len) + 7) / 8 * 8;
    size_t total = header + body_len;
    if (fields_len > kMaxArray || total > kMaxMessage) throw Error("D-Bus: message longer than 128 MiB");
    if (buf.size() < total) return 0;

    Reader m(buf.substr(0, total), buf[0] == 'B');
    m.pos = 12;
    Value fields = m.value("a(yv)");
    m.pad(8);
    Message msg;
    msg.type = static_cast<MessageType>(static_cast<uint8_t>(buf[1]));
    msg.flags = static_cast<uint8_t>(buf[2]);
    msg.serial = serial;
    std::string sig;
    for (const auto& f : fields.items()) {
        const Value& v = f.items()[1].items()[0];
        switch (f.items()[0].as_uint()) {
            case kPath: msg.path = v.str(); break;
            case kInterface: msg.interface = v.str(); break;
            case kMember: msg.member = v.str(); break;
            case kErrorName: msg.error_name = v.str(); break;
            case kReplySerial: msg.reply_serial = static_cast<uint32_t>(v.as_uint()); break;
            case kDestination: msg.destination = v.str(); break;
            case kSender: msg.sender = v.str(); break;
            case kSignature: sig = v.str(); break;
            default: break;  // unknown fields are ignored, as the specification asks
        }
    }
    if (serial == 0) throw Error("D-Bus: message with serial 0");
    for (size_t i = 0; i < sig.size(); i = type_end(sig, i))
        msg.body.push_back(m.value(std::string_view(sig).substr(i, type_end(sig, i) - i)));
    if (m.pos != total) throw Error("D-Bus: message body longer than its signature");
    out = std::move(msg);
    return total;
}

std::string socket_path(const std::string& address, const std::string& what) {
    for (size_t start = 0; start <= address.size();) {
        size_t end = address.find(';', start);
        if (end == std::string::npos) end = address.size();
        std::string entry = address.substr(start, end - start);
        start = end + 1;
        if (entry.rfind("unix:", 0) != 0) continue;
        for (size_t p = 5; p < entry.size();) {
            size_t comma = entry.find(',', p);
            if (comma == std::string::npos) comma = entry.size();
            std::string kv = entry.substr(p, comma - p);
            p = comma + 1;
            if (kv.rfind("path=", 0) == 0) return unescape(kv.substr(5));
            if (kv.rfind("abstract=", 0) == 0) return std::string(1, '\0') + unescape(kv.substr(9));
        }
    }
    throw Error(what + ": no unix:path= or unix:abstract= in the address \"" + address + "\"");
}

Connection Connection::open(const std::string& address, bool via_daemon, const std::string& what) {
    std::string path = socket_path(address, what);
    Connection c;
    c.what_ = what;
    c.via_daemon_ = via_daemon;
    c.fd_.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!c.fd_) throw_errno(what + ": socket");
    unix_socket::Address sa;
    try {
        sa = unix_socket::address(path);
    } catch (const Error& e) {
        throw Error(what + ": " + e.what());
    }
    if (::connect(c.fd_.get(), sa.get(), sa.len) != 0) throw_errno("cannot connect to " + what);

    // SASL EXTERNAL: the server checks our credentials on the socket. In a user namespace our
    // uid is not the one the server sees, so we then send none and let it use what it sees.
    std::string auth(1, '\0');
    auth += proc::in_initial_user_ns() ? "AUTH EXTERNAL " + hex(std::to_string(::geteuid())) + "\r\n" : "AUTH EXTERNAL\r\n";
    auto write_all = [&](const std::string& s) {
        size_t off = 0;
        while (off < s.size()) {
            ssize_t n = ::send(c.fd_.get(), s.data() + off, s.size() - off, MSG_NOSIGNAL);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) throw_errno("write to " + what);
            off += static_cast<size_t>(n);
        }
    };
    auto deadline = Clock::now() + std::chrono::seconds(25);
    auto read_line = [&]() {
        for (;;) {
            size_t eol = c.in_.find("\r\n");
            if (eol != std::string::npos) {
                std::string line = c.in_.substr(0, eol);
                c.in_.erase(0, eol + 2);
                return line;
            }
            if (c.in_.size() > 4096) throw Error(what + ": authentication line too long");
            pollfd p{c.fd_.get(), POLLIN, 0};
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
            if (left <= 0) throw Error(what + ": timed out authenticating");
            int n = ::poll(&p, 1, static_cast<int>(left));
            if (n < 0 && errno != EINTR) throw_errno("poll " + what);
            if (n <= 0) continue;
            char buf[512];
            ssize_t got = ::recv(c.fd_.get(), buf, sizeof buf, 0);
            if (got < 0 && errno == EINTR) continue;
            if (got < 0) throw_errno("read from " + what);
            if (got == 0) throw Error(what + ": connection closed while authenticating");
            c.in_.append(buf, static_cast<size_t>(got));
        }
    };
    write_all(auth);
    std::string line = read_line();
    if (line == "DATA") {
        write_all("DATA\r\n");
        line = read_line();
    }
    if (line.rfind("OK ", 0) != 0) throw Error(what + ": authentication refused (" + line + ")");
    write_all("BEGIN\r\n");
    if (via_daemon) c.call(Message::call("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "Hello"));
    return c;
}

Connection Connection::system() {
    const char* env = std::getenv("DBUS_SYSTEM_BUS_ADDRESS");
    std::string address = env && *env ? env : "unix:path=/run/dbus/system_bus_socket";
    try {
        return open(address, true, "the system bus (" + address + ")");
    } catch (const Error& e) {
        // systemd answers on its private socket to root even without a bus daemon.
        if ((env && *env) || ::geteuid() != 0 || ::access("/run/systemd/private", F_OK) != 0) throw;
        try {
            return open("unix:path=/run/systemd/private", false, "systemd (/run/systemd/private)");
        } catch (const Error& e2) {
            throw Error(std::string(e.what()) + "; " + e2.what());
        }
    }
}

Connection Connection::user() {
    const char* env = std::getenv("DBUS_SESSION_BUS_ADDRESS");
    if (env && *env) return open(env, true, std::string("the user bus (") + env + ")");
    const char* xdg = std::getenv("XDG_RUNTIME_DIR");
    if (!xdg || !*xdg)
        throw Error("the user bus: neither $DBUS_SESSION_BUS_ADDRESS nor $XDG_RUNTIME_DIR is set");
    std::string address = std::string("unix:path=") + xdg + "/bus";
    return open(address, true, "the user bus (" + address + ")");
}

uint32_t Connection::send(Message m) {
    m.serial = ++serial_;
    std::string bytes = marshal(m);
    size_t off = 0;
    while (off < bytes.size()) {
        ssize_t n = ::send(fd_.get(), bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw_errno("write to " + what_);
        off += static_cast<size_t>(n);
    }
    return m.serial;
}

Message Connection::read_message(Clock::time_point deadline) {
    for (;;) {
        Message m;
        size_t used = unmarshal(in_, m);
        if (used) {
            in_.erase(0, used);
            return m;
        }
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
        if (left <= 0) throw Error(what_ + ": timed out waiting for an answer");
        pollfd p{fd_.get(), POLLIN, 0};
        int n = ::poll(&p, 1, static_cast<int>(left));
        if (n < 0 && errno != EINTR) throw_errno("poll " + what_);
        if (n <= 0) continue;
        char buf[16384];
        ssize_t got = ::recv(fd_.get(), buf, sizeof buf, 0);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) throw_errno("read from " + what_);
        if (got == 0) throw Error(what_ + ": connection closed");
        in_.append(buf, static_cast<size_t>(got));
    }
}

Message Connection::await_reply(uint32_t serial, Clock::time_point deadline) {
    for (;;) {
        Message m = read_message(deadline);
        if (m.type == MessageType::Signal) {
            signals_.push_back(std::move(m));
            continue;
        }
        if (m.reply_serial != serial) continue;
        if (m.type == MessageType::Error) {
            std::string text = !m.body.empty() && m.body[0].type() == 's' ? m.body[0].str() : m.error_name;
            throw CallError(m.error_name, text);
        }
        if (m.type == MessageType::MethodReturn) return m;
    }
}

Message Connection::call(Message m, std::chrono::milliseconds timeout) {
    uint32_t serial = send(std::move(m));
    return await_reply(serial, Clock::now() + timeout);
}

void Connection::add_match(const std::string& rule) {
    if (!via_daemon_) return;
    call(Message::call("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "AddMatch",
                       {Value::string(rule)}));
}

std::optional<Message> Connection::wait_signal(const std::function<bool(const Message&)>& match,
                                               Clock::time_point deadline) {
    for (auto it = signals_.begin(); it != signals_.end(); ++it) {
        if (match(*it)) {
            Message m = std::move(*it);
            signals_.erase(it);
            return m;
        }
    }
    for (;;) {
        Message m;
        try {
            m = read_message(deadline);
        } catch (const Error&) {
            if (Clock::now() >= deadline) return std::nullopt;
            throw;
        }
        if (m.type != MessageType::Signal) continue;
        if (match(m)) return m;
        if (signals_.size() < 1024) signals_.push_back(std::move(m));
    }
}

}  // namespace husk::dbus
