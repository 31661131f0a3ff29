// ttrpc framing, the server's answers to good and bad frames, and the event envelope bytes.
#include <doctest/doctest.h>
#include <sys/socket.h>
#include <unistd.h>

#include "events.pb.h"
#include "events_ttrpc.pb.h"
#include "shim/event_loop.hpp"
#include "shim/publisher.hpp"
#include "ttrpc.pb.h"
#include "shim/ttrpc_frame.hpp"
#include "shim/ttrpc_server.hpp"

using namespace husk::shim;
namespace frame = husk::ttrpc;

TEST_CASE("ttrpc frame header is 10 bytes big-endian: length, stream, type, flags") {
    std::string f = frame::encode(0x01020304, frame::kResponse, "abc", 0x5);
    REQUIRE(f.size() == 13);
    CHECK(f.substr(0, 4) == std::string("\0\0\0\3", 4));
    CHECK(f.substr(4, 4) == std::string("\1\2\3\4", 4));
    CHECK(f[8] == 2);
    CHECK(f[9] == 5);
    CHECK(f.substr(10) == "abc");
}

TEST_CASE("frame reader reassembles frames fed byte by byte") {
    std::string wire = frame::encode(1, frame::kRequest, "hello") + frame::encode(3, frame::kRequest, "");
    frame::FrameReader r;
    frame::Frame f;
    std::vector<frame::Frame> got;
    for (char c : wire) {
        r.feed(&c, 1);
        while (r.next(f) == frame::FrameReader::Result::Frame) got.push_back(f);
    }
    REQUIRE(got.size() == 2);
    CHECK(got[0].stream == 1);
    CHECK(got[0].payload == "hello");
    CHECK(got[1].stream == 3);
    CHECK(got[1].payload.empty());
}

TEST_CASE("an oversize frame is reported once and skipped; the next frame still parses") {
    std::string big(frame::kMaxMessage + 1, 'x');
    std::string wire = frame::encode(5, frame::kRequest, big) + frame::encode(7, frame::kRequest, "ok");
    frame::FrameReader r;
    frame::Frame f;
    int oversize = 0;
    std::vector<std::string> frames;
    for (size_t off = 0; off < wire.size(); off += 65536) {
        r.feed(wire.data() + off, std::min<size_t>(65536, wire.size() - off));
        for (;;) {
            auto res = r.next(f);
            if (res == frame::FrameReader::Result::NeedMore) break;
            if (res == frame::FrameReader::Result::Oversize) {
                ++oversize;
                CHECK(f.stream == 5);
            } else {
                frames.push_back(f.payload);
            }
        }
    }
    CHECK(oversize == 1);
    REQUIRE(frames.size() == 1);
    CHECK(frames[0] == "ok");
}

namespace {

// A server on one end of a socketpair; the test speaks raw frames on the other end.
struct Harness {
    EventLoop loop;
    TtrpcServer server{loop, [](const Call& c, const Responder& r) {
                           if (c.service == "test.Echo" && c.method == "Echo") {
                               ::ttrpc::KeyValue kv;
                               kv.set_key("echo");
                               kv.set_value(c.payload);
                               r.ok(kv);
                           } else {
                               r.error(frame::kUnimplemented, "not implemented");
                           }
                       }};
    int client = -1;
    Harness() {
        int sv[2];
        REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) == 0);
        server.add_connection(husk::UniqueFd(sv[0]));
        client = sv[1];
    }
    ~Harness() { ::close(client); }
    void send(const std::string& bytes) {
        size_t off = 0;
        while (off < bytes.size()) {
            ssize_t n = ::write(client, bytes.data() + off, bytes.size() - off);
            if (n < 0 && errno == EAGAIN) {  // let the server drain while we write
                loop.after(std::chrono::milliseconds(1), [this] { loop.stop(); });
                loop.run();
                continue;
            }
            REQUIRE(n > 0);
            off += size_t(n);
        }
    }
    // Runs the loop until one response frame has arrived.
    ::ttrpc::Response response(uint32_t* stream = nullptr) {
        frame::FrameReader r;
        frame::Frame f;
        for (int i = 0; i < 500; ++i) {
            loop.after(std::chrono::milliseconds(2), [this] { loop.stop(); });
            loop.run();
            char buf[65536];
            ssize_t n = ::recv(client, buf, sizeof buf, MSG_DONTWAIT);
            if (n > 0) r.feed(buf, size_t(n));
            if (r.next(f) == frame::FrameReader::Result::Frame) {
                CHECK(f.type == frame::kResponse);
                if (stream) *stream = f.stream;
                ::ttrpc::Response resp;
                REQUIRE(resp.ParseFromString(f.payload));
                return resp;
            }
        }
        FAIL("no response");
        return {};
    }
};

std::string request(uint32_t stream, const std::string& service, const std::string& method,
                    const std::string& payload) {
    ::ttrpc::Request req;
    req.set_service(service);
    req.set_method(method);
    req.set_payload(payload);
    return frame::encode(stream, frame::kRequest, req.SerializeAsString());
}

}  // namespace

TEST_CASE("server answers a known method on the same stream") {
    Harness h;
    h.send(request(7, "test.Echo", "Echo", "ping"));
    uint32_t stream = 0;
    auto resp = h.response(&stream);
    CHECK(stream == 7);
    CHECK(resp.status().code() == 0);
    ::ttrpc::KeyValue kv;
    REQUIRE(kv.ParseFromString(resp.payload()));
    CHECK(kv.value() == "ping");
}

TEST_CASE("unknown method gets code 12 and the connection stays usable") {
    Harness h;
    h.send(request(1, "containerd.task.v2.Task", "Frobnicate", ""));
    uint32_t stream = 0;
    auto resp = h.response(&stream);
    CHECK(stream == 1);
    CHECK(resp.status().code() == 12);
    h.send(request(3, "test.Echo", "Echo", "x"));
    CHECK(h.response().status().code() == 0);
}

TEST_CASE("malformed request gets code 3; oversize gets code 8; both keep the connection") {
    Harness h;
    h.send(frame::encode(9, frame::kRequest, std::string("\xff\xff\xff", 3)));
    uint32_t stream = 0;
    CHECK(h.response(&stream).status().code() == 3);
    CHECK(stream == 9);
    h.send(frame::encode(11, frame::kRequest, std::string(frame::kMaxMessage + 10, '\0')));
    CHECK(h.response(&stream).status().code() == 8);
    CHECK(stream == 11);
    h.send(request(13, "test.Echo", "Echo", "still here"));
    CHECK(h.response(&stream).status().code() == 0);
    CHECK(stream == 13);
}

TEST_CASE("event forward request carries the envelope with a bare type URL") {
    containerd::events::TaskExit exit;
    exit.set_container_id("c1");
    exit.set_id("c1");
    exit.set_pid(42);
    exit.set_exit_status(3);
    std::string bytes = forward_request("default", "/tasks/exit", "containerd.events.TaskExit", exit, 100, 5);
    ::ttrpc::Request req;
    REQUIRE(req.ParseFromString(bytes));
    CHECK(req.service() == "containerd.services.events.ttrpc.v1.Events");
    CHECK(req.method() == "Forward");
    containerd::services::events::ttrpc::v1::ForwardRequest fr;
    REQUIRE(fr.ParseFromString(req.payload()));
    const auto& env = fr.envelope();
    CHECK(env.namespace_() == "default");
    CHECK(env.topic() == "/tasks/exit");
    CHECK(env.timestamp().seconds() == 100);
    CHECK(env.timestamp().nanos() == 5);
    CHECK(env.event().type_url() == "containerd.events.TaskExit");
    containerd::events::TaskExit back;
    REQUIRE(back.ParseFromString(env.event().value()));
    CHECK(back.pid() == 42);
    CHECK(back.exit_status() == 3);
    // Field numbers on the wire: envelope is field 1 of ForwardRequest (tag 0x0a).
    CHECK(req.payload()[0] == '\x0a');
}
