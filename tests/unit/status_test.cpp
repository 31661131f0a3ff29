// The status enum's runtime-spec names and which command each status allows, with the
// refusal texts the CLI prints (integration tests and callers match on them), and the
// Container handle's checks on a record in a temporary --root.
#include <doctest/doctest.h>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "common/error.hpp"
#include "runtime/container/handle.hpp"
#include "runtime/container/status.hpp"

using namespace husk;
using container::Op;
using container::Status;

namespace {

std::string refusal(Op op, Status s) {
    try {
        container::require(op, s, "c1");
    } catch (const Error& e) {
        return e.what();
    }
    return {};
}

}  // namespace

TEST_CASE("status: names round-trip and unknown names are rejected") {
    for (Status s : {Status::Creating, Status::Created, Status::Running, Status::Paused, Status::Stopped})
        CHECK(container::parse_status(container::to_string(s)) == s);
    CHECK(container::to_string(Status::Creating) == "creating");
    CHECK(container::to_string(Status::Created) == "created");
    CHECK(container::to_string(Status::Running) == "running");
    CHECK(container::to_string(Status::Paused) == "paused");
    CHECK(container::to_string(Status::Stopped) == "stopped");
    CHECK_FALSE(container::parse_status("Running"));
    CHECK_FALSE(container::parse_status(""));
}

TEST_CASE("status: transitions each command allows") {
    CHECK(container::allowed(Op::Start, Status::Created));
    CHECK_FALSE(container::allowed(Op::Start, Status::Running));
    CHECK_FALSE(container::allowed(Op::Start, Status::Stopped));
    CHECK(container::allowed(Op::Pause, Status::Running));
    CHECK_FALSE(container::allowed(Op::Pause, Status::Created));
    CHECK(container::allowed(Op::Resume, Status::Paused));
    CHECK_FALSE(container::allowed(Op::Resume, Status::Running));
    CHECK(container::allowed(Op::Kill, Status::Created));
    CHECK(container::allowed(Op::Kill, Status::Paused));
    CHECK_FALSE(container::allowed(Op::Kill, Status::Stopped));
    CHECK(container::allowed(Op::Delete, Status::Stopped));
    CHECK(container::allowed(Op::Delete, Status::Created));
    CHECK_FALSE(container::allowed(Op::Delete, Status::Running));
    CHECK_FALSE(container::allowed(Op::Delete, Status::Paused));
    CHECK(container::allowed(Op::Exec, Status::Running));
    CHECK_FALSE(container::allowed(Op::Exec, Status::Paused));
    CHECK_FALSE(container::allowed(Op::Exec, Status::Stopped));
    CHECK(container::allowed(Op::Update, Status::Paused));
    CHECK_FALSE(container::allowed(Op::Update, Status::Stopped));
}

TEST_CASE("status: refusals keep the CLI's texts") {
    CHECK(refusal(Op::Start, Status::Running) == "cannot start container \"c1\": it is running, not created");
    CHECK(refusal(Op::Kill, Status::Stopped) == "cannot kill container \"c1\": it is not running");
    CHECK(refusal(Op::Delete, Status::Paused) == "cannot delete container \"c1\": it is paused (use --force)");
    CHECK(refusal(Op::Pause, Status::Created) == "cannot pause container \"c1\": it is created, not running");
    CHECK(refusal(Op::Resume, Status::Running) == "cannot resume container \"c1\": it is running, not paused");
    CHECK(refusal(Op::Exec, Status::Stopped) == "cannot exec in container \"c1\": it is stopped");
    CHECK(refusal(Op::Exec, Status::Paused) == "cannot exec in a paused container \"c1\" (use --ignore-paused)");
    CHECK(refusal(Op::Update, Status::Stopped) == "cannot update container \"c1\": it is stopped");
    CHECK(refusal(Op::Start, Status::Created).empty());
}

TEST_CASE("Container handle: a container whose init is gone is stopped, and refuses update and pause") {
    char tmpl[] = "/tmp/husk-unit-XXXXXX";
    std::string root = ::mkdtemp(tmpl);
    {
        auto dir = ContainerDir::create(root, "c1");
        Record r{};
        r.id = "c1";
        r.pid = 0x3fffff00;  // no such process
        r.pid_start = 1;
        r.cgroup = {{"path", "/husk-unit-nonexistent"}};
        dir.save(r);
    }
    {
        auto c = container::Container::load(root, "c1");
        CHECK(c.status() == Status::Stopped);
        CHECK(c.state().status == "stopped");
        CHECK_THROWS_WITH_AS(c.require(Op::Pause), "cannot pause container \"c1\": it is stopped, not running", Error);
        CHECK_THROWS_WITH_AS(c.update(spec::Resources{}), "cannot update container \"c1\": it is stopped", Error);
        CHECK_FALSE(c.live_cgroup());
    }
    CHECK_THROWS_WITH_AS(container::Container::load(root, "zz"), "container \"zz\" does not exist", Error);
    std::filesystem::remove_all(root);
}
