// The D-Bus wire format of the systemd driver's client: values and messages marshalled byte for
// byte as the specification lays them out, parsed back (both byte orders), malformed input
// refused, and bus addresses.
#include <doctest/doctest.h>

#include <cstring>
#include <string>

#include "runtime/cgroups/systemd/dbus.hpp"

using namespace husk::dbus;

namespace {

std::string bytes(std::initializer_list<int> b) {
    std::string s;
    for (int c : b) s.push_back(static_cast<char>(c));
    return s;
}

// The body of a message holding just `v`, as marshal() lays it out.
std::string body_of(const Value& v) {
    Message m = Message::call("d", "/p", "i.f", "M", {v});
    m.serial = 1;
    std::string wire = marshal(m);
    uint32_t len;
    std::memcpy(&len, wire.data() + 4, 4);
    return wire.substr(wire.size() - len);
}

Message roundtrip(const Message& m) {
    std::string wire = marshal(m);
    Message out;
    REQUIRE(unmarshal(wire, out) == wire.size());
    return out;
}

}  // namespace

TEST_CASE("dbus: basic values are aligned and little-endian") {
    CHECK(body_of(Value::byte(7)) == bytes({7}));
    CHECK(body_of(Value::boolean(true)) == bytes({1, 0, 0, 0}));
    CHECK(body_of(Value::int16(-2)) == bytes({0xfe, 0xff}));
    CHECK(body_of(Value::uint32(0x01020304)) == bytes({4, 3, 2, 1}));
    CHECK(body_of(Value::uint64(1)) == bytes({1, 0, 0, 0, 0, 0, 0, 0}));
    CHECK(body_of(Value::string("ab")) == bytes({2, 0, 0, 0, 'a', 'b', 0}));
    CHECK(body_of(Value::object_path("/o")) == bytes({2, 0, 0, 0, '/', 'o', 0}));
    CHECK(body_of(Value::signature("as")) == bytes({2, 'a', 's', 0}));
}

TEST_CASE("dbus: containers: array length excludes the padding to its first element") {
    // at: length 8, then padding from offset 4 to 8, then the element.
    CHECK(body_of(Value::array("t", {Value::uint64(5)})) == bytes({8, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0}));
    // An empty array of structs still pads to 8.
    CHECK(body_of(Value::array("(ss)")) == bytes({0, 0, 0, 0, 0, 0, 0, 0}));
    CHECK(body_of(Value::array("u", {Value::uint32(1), Value::uint32(2)})) == bytes({8, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0}));
    // A variant: its signature, then the value aligned as its type wants.
    CHECK(body_of(Value::variant(Value::uint32(9))) == bytes({1, 'u', 0, 0, 9, 0, 0, 0}));
    // a(sv), as StartTransientUnit takes its properties.
    Value props = Value::array("(sv)", {Value::structure({Value::string("A"), Value::variant(Value::boolean(true))})});
    CHECK(props.signature() == "a(sv)");
    // length 16; padding to 8; "A"; the variant's signature "b"; padding to 4; true.
    CHECK(body_of(props) == bytes({16, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 'A', 0, 1, 'b', 0, 0, 0, 0, 1, 0, 0, 0}));
    CHECK(Value::array("{sv}").signature() == "a{sv}");
    CHECK(Value::array("y", {Value::byte(1)}).signature() == "ay");
    CHECK_THROWS(body_of(Value::array("s", {Value::uint32(1)})));  // an element of another type
    CHECK_THROWS(Value::array("(s", {}));
    CHECK_THROWS(body_of(Value::string(std::string("a\0b", 3))));
}

TEST_CASE("dbus: a method call's header") {
    Message m = Message::call("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "Hello");
    m.serial = 1;
    std::string wire = marshal(m);
    CHECK(wire.substr(0, 4) == bytes({'l', 1, 0, 1}));
    CHECK(wire.substr(4, 4) == bytes({0, 0, 0, 0}));  // no body
    CHECK(wire.substr(8, 4) == bytes({1, 0, 0, 0}));  // serial
    CHECK(wire.size() % 8 == 0);
    // First header field: PATH (1) as a variant of type o.
    CHECK(wire.substr(16, 8) == bytes({1, 1, 'o', 0, 21, 0, 0, 0}));
    CHECK(wire.find("/org/freedesktop/DBus") == 24);
    Message back = roundtrip(m);
    CHECK(back.type == MessageType::MethodCall);
    CHECK(back.serial == 1);
    CHECK(back.path == "/org/freedesktop/DBus");
    CHECK(back.interface == "org.freedesktop.DBus");
    CHECK(back.member == "Hello");
    CHECK(back.destination == "org.freedesktop.DBus");
    CHECK(back.body.empty());
}

TEST_CASE("dbus: StartTransientUnit round-trips") {
    Value props = Value::array(
        "(sv)", {Value::structure({Value::string("Description"), Value::variant(Value::string("husk container x"))}),
                 Value::structure({Value::string("PIDs"), Value::variant(Value::array("u", {Value::uint32(42)}))}),
                 Value::structure({Value::string("MemoryMax"), Value::variant(Value::uint64(1 << 20))}),
                 Value::structure({Value::string("AllowedCPUs"),
                                   Value::variant(Value::array("y", {Value::byte(3)}))}),
                 Value::structure({Value::string("DeviceAllow"),
                                   Value::variant(Value::array("(ss)", {Value::structure({Value::string("char-pts"),
                                                                                         Value::string("rwm")})}))})});
    Message m = Message::call("org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                              "org.freedesktop.systemd1.Manager", "StartTransientUnit",
                              {Value::string("husk-x.scope"), Value::string("replace"), props, Value::array("(sa(sv))")});
    m.serial = 7;
    CHECK(m.body_signature() == "ssa(sv)a(sa(sv))");
    Message back = roundtrip(m);
    CHECK(back.body_signature() == "ssa(sv)a(sa(sv))");
    REQUIRE(back.body.size() == 4);
    CHECK(back.body[0].str() == "husk-x.scope");
    CHECK(back.body[2] == props);
    CHECK(back.body[2].items()[1].items()[1].items()[0].items()[0].as_uint() == 42);
    CHECK(back.body[3].items().empty());
}

TEST_CASE("dbus: a JobRemoved signal and an error reply, in either byte order") {
    Message sig;
    sig.type = MessageType::Signal;
    sig.serial = 99;
    sig.path = "/org/freedesktop/systemd1";
    sig.interface = "org.freedesktop.systemd1.Manager";
    sig.member = "JobRemoved";
    sig.sender = ":1.0";
    sig.body = {Value::uint32(12), Value::object_path("/org/freedesktop/systemd1/job/12"), Value::string("husk-x.scope"),
                Value::string("done")};
    Message back = roundtrip(sig);
    CHECK(back.type == MessageType::Signal);
    CHECK(back.sender == ":1.0");
    CHECK(back.body[1].str() == "/org/freedesktop/systemd1/job/12");
    CHECK(back.body[3].str() == "done");

    // The same error reply as a big-endian peer writes it.
    std::string be = bytes({'B', 3, 1, 1, 0, 0, 0, 12, 0, 0, 0, 5, 0, 0, 0, 0x35});
    auto field = [&](int code, char type, const std::string& s) {
        std::string f = bytes({code, 1, type, 0});
        if (type == 'u') {
            f += s;
        } else {
            uint32_t n = static_cast<uint32_t>(s.size());
            f += bytes({int(n >> 24), int((n >> 16) & 255), int((n >> 8) & 255), int(n & 255)}) + s + std::string(1, '\0');
        }
        return f;
    };
    std::string fields = field(4, 's', "org.freedesktop.systemd1.UnitExists");  // 44 bytes
    fields += std::string((8 - fields.size() % 8) % 8, '\0');
    fields += field(5, 'u', bytes({0, 0, 0, 3}));  // from 48 to 56
    fields += std::string((8 - fields.size() % 8) % 8, '\0');
    fields += bytes({8, 1, 'g', 0, 1, 's', 0});  // to 63
    be[15] = static_cast<char>(fields.size());
    be += fields;
    be += std::string((8 - be.size() % 8) % 8, '\0');
    be += bytes({0, 0, 0, 7}) + "exists!" + std::string(1, '\0');
    Message err;
    REQUIRE(unmarshal(be, err) == be.size());
    CHECK(err.type == MessageType::Error);
    CHECK(err.serial == 5);
    CHECK(err.reply_serial == 3);
    CHECK(err.error_name == "org.freedesktop.systemd1.UnitExists");
    CHECK(err.body[0].str() == "exists!");
}

TEST_CASE("dbus: partial and malformed input") {
    Message m = Message::call("d", "/p", "i.f", "M", {Value::string("x")});
    m.serial = 3;
    std::string wire = marshal(m);
    Message out;
    for (size_t n : {size_t(0), size_t(10), wire.size() - 1}) CHECK(unmarshal(wire.substr(0, n), out) == 0);
    // Two messages back to back: one at a time.
    CHECK(unmarshal(wire + wire, out) == wire.size());

    std::string bad = wire;
    bad[0] = 'x';
    CHECK_THROWS(unmarshal(bad, out));
    bad = wire;
    bad[3] = 2;  // protocol version
    CHECK_THROWS(unmarshal(bad, out));
    bad = wire;
    bad[8] = bad[9] = bad[10] = bad[11] = 0;  // serial 0
    CHECK_THROWS(unmarshal(bad, out));
    // A string length running past the body.
    bad = wire;
    bad[bad.size() - 6] = 100;
    CHECK_THROWS(unmarshal(bad, out));
    // A body length of 200 MB.
    bad = wire;
    bad[7] = 0x0c;
    CHECK_THROWS(unmarshal(bad, out));
}

TEST_CASE("dbus: bus addresses") {
    CHECK(socket_path("unix:path=/run/dbus/system_bus_socket", "bus") == "/run/dbus/system_bus_socket");
    CHECK(socket_path("unix:path=/tmp/a%20b,guid=1234", "bus") == "/tmp/a b");
    CHECK(socket_path("tcp:host=x,port=1;unix:abstract=/tmp/dbus-x", "bus") == std::string(1, '\0') + "/tmp/dbus-x");
    CHECK_THROWS_WITH(socket_path("tcp:host=x", "the system bus"),
                      doctest::Contains("the system bus: no unix:path= or unix:abstract="));
}

TEST_CASE("dbus: a missing bus is an error naming it") {
    CHECK_THROWS_WITH(Connection::open("unix:path=/nonexistent/bus", true, "the system bus (unix:path=/nonexistent/bus)"),
                      doctest::Contains("cannot connect to the system bus (unix:path=/nonexistent/bus): No such file"));
}
