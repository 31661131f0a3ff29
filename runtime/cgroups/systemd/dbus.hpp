// A small D-Bus client for the systemd cgroup driver: the wire format (values, messages), and a
// connection (unix socket, SASL EXTERNAL, Hello, method calls, signals). Only what husk needs.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "common/unique_fd.hpp"

namespace husk::dbus {

// One D-Bus value with its type. Containers keep their element signature, so that an empty
// array still marshals with the right type.
class Value {
public:
    static Value byte(uint8_t v);
    static Value boolean(bool v);
    static Value int16(int16_t v);
    static Value uint16(uint16_t v);
    static Value int32(int32_t v);
    static Value uint32(uint32_t v);
    static Value int64(int64_t v);
    static Value uint64(uint64_t v);
    static Value dbl(double v);
    static Value string(std::string v);
    static Value object_path(std::string v);
    static Value signature(std::string v);
    // elem: the element's single complete type, e.g. "s", "(ss)", "{sv}".
    static Value array(std::string elem, std::vector<Value> items = {});
    static Value structure(std::vector<Value> fields);
    static Value dict_entry(Value key, Value value);
    static Value variant(Value inner);

    // The value's complete type ("s", "a(sv)", "v" ...).
    std::string signature() const;
    char type() const { return type_; }
    // Typed reads; each throws husk::Error when the value has another type.
    const std::string& str() const;  // s, o, g
    bool as_bool() const;
    uint64_t as_uint() const;        // y, q, u, t
    int64_t as_int() const;          // n, i, x
    double as_double() const;
    const std::vector<Value>& items() const;  // array, struct, dict entry, variant (one item)
    const std::string& element() const { return elem_; }

    bool operator==(const Value& o) const;

private:
    char type_ = 0;
    uint64_t bits_ = 0;  // integers, booleans, doubles (by bit pattern)
    std::string str_;
    std::string elem_;   // arrays: the element's type
    std::vector<Value> items_;
};

enum class MessageType : uint8_t { Invalid = 0, MethodCall = 1, MethodReturn = 2, Error = 3, Signal = 4 };

struct Message {
    MessageType type = MessageType::MethodCall;
    uint8_t flags = 0;
    uint32_t serial = 0;
    uint32_t reply_serial = 0;
    std::string path, interface, member, error_name, destination, sender;
    std::vector<Value> body;

    // The signature of the body ("" when empty).
    std::string body_signature() const;
    // A method call to `destination`.
    static Message call(std::string destination, std::string path, std::string interface, std::string member,
                        std::vector<Value> body = {});
};

// Marshals a message in little-endian byte order.
std::string marshal(const Message& m);
// Parses one message from the start of `buf`: returns the bytes it used, or 0 when `buf` holds
// only part of it. Throws husk::Error on a malformed message (either byte order).
size_t unmarshal(std::string_view buf, Message& out);

// A D-Bus error reply from the peer, kept apart so callers can test its name.
struct CallError : Error {
    CallError(std::string name, const std::string& text) : Error(text), name(std::move(name)) {}
    std::string name;  // "org.freedesktop.systemd1.NoSuchUnit"
};

class Connection {
public:
    using Clock = std::chrono::steady_clock;

    // The system bus ($DBUS_SYSTEM_BUS_ADDRESS, else /run/dbus/system_bus_socket), falling back
    // to systemd's private socket (root only) when no bus daemon runs.
    static Connection system();
    // The caller's user bus ($DBUS_SESSION_BUS_ADDRESS, else $XDG_RUNTIME_DIR/bus).
    static Connection user();
    // `address`: a D-Bus server address list ("unix:path=/x;unix:abstract=y"). `via_daemon`:
    // a bus daemon that wants Hello (false for a peer such as /run/systemd/private).
    static Connection open(const std::string& address, bool via_daemon, const std::string& what);

    // Sends a call and waits for its reply; an error reply throws CallError. Signals that arrive
    // meanwhile are kept for wait_signal.
    Message call(Message m, std::chrono::milliseconds timeout = std::chrono::seconds(25));
    // Sends a call without waiting; returns its serial (for await_reply).
    uint32_t send(Message m);
    Message await_reply(uint32_t serial, Clock::time_point deadline);
    // Asks the bus daemon to route signals matching `rule` to us (nothing on a peer connection).
    void add_match(const std::string& rule);
    // The first signal (kept or new) for which `match` is true; nullopt at the deadline.
    std::optional<Message> wait_signal(const std::function<bool(const Message&)>& match, Clock::time_point deadline);

    bool via_daemon() const { return via_daemon_; }
    const std::string& what() const { return what_; }

private:
    Message read_message(Clock::time_point deadline);  // throws on timeout
    UniqueFd fd_;
    bool via_daemon_ = true;
    std::string what_;  // "the system bus (unix:path=...)" for errors
    uint32_t serial_ = 0;
    std::string in_;
    std::deque<Message> signals_;
};

// The socket path of a "unix:path=..." or "unix:abstract=..." address (abstract ones start with
// '\0'); the first usable entry of a ';' list. Throws naming `what` when none is usable.
std::string socket_path(const std::string& address, const std::string& what);

}  // namespace husk::dbus
