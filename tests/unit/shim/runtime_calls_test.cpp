// RuntimeCalls: runtime commands that finish on the event loop, with their output, status and
// logged error, while the loop goes on serving other work.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>

#include "common/fs.hpp"
#include "shim/event_loop.hpp"
#include "shim/runtime_calls.hpp"

using namespace husk::shim;
using namespace std::chrono_literals;

namespace {

// A stand-in runtime: prints its arguments, logs an error line when asked to fail, and waits on
// a fifo so the test decides when it ends.
struct FakeRuntime {
    std::string dir, binary, log, gate;
    FakeRuntime() {
        char tmpl[] = "/tmp/husk-calls-XXXXXX";
        REQUIRE(::mkdtemp(tmpl));
        dir = tmpl;
        binary = dir + "/runtime";
        log = dir + "/log";
        gate = dir + "/gate";
        REQUIRE(::mkfifo(gate.c_str(), 0600) == 0);
        husk::fs::write_file(binary,
                             "#!/bin/sh\n"
                             "echo \"$@\"\n"
                             "case \"$*\" in *wait*) read x < " + gate + ";; esac\n"
                             "case \"$*\" in *fail*) echo '{\"level\":\"error\",\"msg\":\"it failed\"}' >> \"$2\"; exit 3;; esac\n",
                             0, 0755);
    }
    ~FakeRuntime() {
        for (const auto& f : {binary, log, gate}) ::unlink(f.c_str());
        ::rmdir(dir.c_str());
    }
    RuntimeConfig config() const {
        RuntimeConfig rc;
        rc.binary = binary;
        rc.log = log;
        return rc;
    }
};

// The shim's reaper, by polling: hands every exited child to calls.
void reap_into(EventLoop& loop, RuntimeCalls& calls) {
    loop.after(5ms, [&loop, &calls] {
        for (int st; ;) {
            pid_t pid = ::waitpid(-1, &st, WNOHANG);
            if (pid <= 0) break;
            calls.reaped(pid, st);
        }
        reap_into(loop, calls);
    });
}

}  // namespace

TEST_CASE("a runtime command finishes on the loop with its output, status and logged error") {
    FakeRuntime rt;
    EventLoop loop;
    RuntimeCalls calls(loop);
    reap_into(loop, calls);
    int finished = 0;
    RunResult ok, failed;
    calls.run(rt.config(), {"ps", "c1"}, {}, true, [&](RunResult& r) {
        ok = r;
        if (++finished == 2) loop.stop();
    });
    calls.run(rt.config(), {"start", "fail"}, {}, false, [&](RunResult& r) {
        failed = r;
        if (++finished == 2) loop.stop();
    });
    CHECK(finished == 0);  // never from inside run
    CHECK(calls.busy());
    loop.after(10s, [&] { loop.stop(); });
    loop.run();
    REQUIRE(finished == 2);
    CHECK(ok.status == 0);
    CHECK(ok.output == "--log " + rt.log + " --log-format json ps c1\n");
    CHECK(failed.status == 3);
    CHECK(failed.error == "it failed");
    CHECK(failed.output.empty());
    CHECK_FALSE(calls.busy());
}

TEST_CASE("a command that waits holds up nothing else on the loop") {
    FakeRuntime rt;
    EventLoop loop;
    RuntimeCalls calls(loop);
    reap_into(loop, calls);
    std::string order;
    calls.run(rt.config(), {"create", "wait"}, {}, false, [&](RunResult& r) {
        CHECK(r.status == 0);
        order += "slow ";
        loop.stop();
    });
    calls.run(rt.config(), {"state"}, {}, true, [&](RunResult& r) {
        CHECK(r.status == 0);
        order += "quick ";
        // Only now let the slow one end.
        husk::fs::write_file(rt.gate, "go\n", O_WRONLY);
    });
    loop.after(10s, [&] { loop.stop(); });
    loop.run();
    CHECK(order == "quick slow ");
}

TEST_CASE("a runtime that cannot be started reports 127 from the loop") {
    EventLoop loop;
    RuntimeCalls calls(loop);
    RuntimeConfig rc;
    rc.binary = "/nonexistent/runtime";
    RunResult got;
    bool done = false;
    calls.run(rc, {"create", "x"}, {}, false, [&](RunResult& r) {
        got = r;
        done = true;
        loop.stop();
    });
    CHECK_FALSE(done);
    loop.after(10s, [&] { loop.stop(); });
    loop.run();
    REQUIRE(done);
    CHECK(got.status == 127);
    CHECK(got.error.find("/nonexistent/runtime") != std::string::npos);
}
