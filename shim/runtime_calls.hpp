// Runtime commands run from the event loop without blocking it: a slow hook in one task's create
// must not hold up the other tasks of a pod-shared shim. Each command is a child of the shim; the
// shim's reaper hands its exit back here (reaped), its captured stdout is read as it comes, and
// its Done runs on the loop once both are in.
#pragma once

#include <sys/types.h>

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "event_loop.hpp"
#include "runtime_cli.hpp"

namespace husk::shim {

class RuntimeCalls {
public:
    using Done = std::function<void(RunResult&)>;

    explicit RuntimeCalls(EventLoop& loop) : loop_(loop) {}
    RuntimeCalls(const RuntimeCalls&) = delete;
    RuntimeCalls& operator=(const RuntimeCalls&) = delete;

    // Starts `rc.binary args...`; done runs later on the loop, never from inside run (a command
    // that cannot be started reports status 127).
    void run(const RuntimeConfig& rc, std::vector<std::string> args, Stdio io, bool capture, Done done);
    // From the reaper: true when pid was one of these commands.
    bool reaped(pid_t pid, int wait_status);
    // Some command has been started and its Done has not run yet.
    bool busy() const { return !calls_.empty() || pending_failures_ > 0; }

private:
    struct Call {
        RuntimeConfig rc;
        std::vector<std::string> args;
        RuntimeChild child;
        std::string output;
        bool exited = false;
        int wait_status = 0;
        Done done;
    };
    void read_output(pid_t pid);
    void finish_if_done(pid_t pid);

    EventLoop& loop_;
    std::map<pid_t, Call> calls_;
    int pending_failures_ = 0;
};

}  // namespace husk::shim
