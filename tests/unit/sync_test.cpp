// The create/init/exec sync messages: type, text and an attached fd survive the trip, and a
// closed peer reads as Closed.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/error.hpp"
#include "common/unique_fd.hpp"
#include "runtime/container/sync.hpp"

using namespace husk;

TEST_CASE("sync: messages carry type, text and fd; a closed peer reads as Closed") {
    int sv[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0);
    UniqueFd a(sv[0]), b(sv[1]);

    sync::send(a.get(), sync::Msg::HooksDone, R"({"status":"created"})");
    sync::Message m = sync::recv(b.get());
    CHECK(m.type == sync::Msg::HooksDone);
    CHECK(m.text == R"({"status":"created"})");
    CHECK_FALSE(m.fd);

    UniqueFd null(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    REQUIRE(null);
    sync::send(a.get(), sync::Msg::BindSource, "3", null.get());
    m = sync::recv(b.get());
    CHECK(m.type == sync::Msg::BindSource);
    CHECK(m.text == "3");
    REQUIRE(m.fd);
    CHECK((::fcntl(m.fd.get(), F_GETFD) & FD_CLOEXEC) != 0);

    CHECK(sync::send_quietly(a.get(), sync::Msg::ExecFailed, "2"));
    m = sync::recv(b.get());
    CHECK(m.wire() == "X2");

    a.reset();
    CHECK(sync::recv(b.get()).type == sync::Msg::Closed);
    CHECK_FALSE(sync::send_quietly(b.get(), sync::Msg::Error, "x"));
    CHECK_THROWS_AS(sync::send(b.get(), sync::Msg::Go, {}, -1, "sync with parent"), Error);
}
