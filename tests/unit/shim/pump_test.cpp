// Pump: the fd-to-fd copy behind stdin and terminals, and the CloseIO drain.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <unistd.h>

#include "shim/event_loop.hpp"
#include "shim/process_io.hpp"

using husk::UniqueFd;
using namespace husk::shim;

namespace {

struct PipePair {
    UniqueFd r, w;
    PipePair() {
        int p[2];
        REQUIRE(::pipe2(p, O_CLOEXEC) == 0);
        r.reset(p[0]);
        w.reset(p[1]);
    }
};

std::string read_all(int fd) {
    std::string s;
    char buf[4096];
    for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) s.append(buf, size_t(n));
    return s;
}

void spin(EventLoop& loop) {
    loop.after(std::chrono::milliseconds(20), [&] { loop.stop(); });
    loop.run();
}

}  // namespace

TEST_CASE("a pump copies until the source's EOF, then closes the destination") {
    EventLoop loop;
    PipePair src, dst;
    Pump pump(loop, std::move(src.r), std::move(dst.w));
    REQUIRE(::write(src.w.get(), "hello", 5) == 5);
    src.w.reset();
    spin(loop);
    CHECK(read_all(dst.r.get()) == "hello");  // EOF arrives: the pump closed its end
}

TEST_CASE("finish() delivers what is already in the source even while its writer stays open") {
    EventLoop loop;
    PipePair src, dst;
    Pump pump(loop, std::move(src.r), std::move(dst.w));
    REQUIRE(::write(src.w.get(), "last words", 10) == 10);
    pump.finish();  // as CloseIO: no loop turn in between
    spin(loop);
    CHECK(read_all(dst.r.get()) == "last words");
}
