// The one seam between the shim and the runtime: runs `husk` (or any runc-compatible binary
// named by BinaryName) with runc's command line, and turns a failure into its logged error.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "common/unique_fd.hpp"

namespace husk::shim {

struct RuntimeConfig {
    std::string binary = "husk";  // looked up on PATH unless it has a slash
    std::string root;             // --root
    std::string log;              // --log (json); its last error becomes the failure message
    bool systemd_cgroup = false;
};

// The stdio the runtime (and so the container it creates) inherits; -1 means /dev/null.
struct Stdio {
    int in = -1, out = -1, err = -1;
};

struct RunResult {
    int status = 0;  // exit code, or 128+signal
    std::string error;
    std::string output;  // stdout, when captured
};

// argv for `<binary> --root R --log F --log-format json [--systemd-cgroup] <args...>`.
std::vector<std::string> runtime_argv(const RuntimeConfig& rc, const std::vector<std::string>& args);

// A runtime command started and not yet waited for.
struct RuntimeChild {
    pid_t pid = -1;
    UniqueFd output;    // read end of its stdout, when captured
    off_t log_start = 0;  // where its lines in the --log file begin
};

// Starts the runtime; the child gets an empty signal mask and default SIGCHLD/SIGPIPE whatever
// the shim blocks. Throws husk::Error when it cannot be started.
RuntimeChild start_runtime(const RuntimeConfig& rc, const std::vector<std::string>& args, Stdio io,
                           bool capture);

// What a runtime command that ended with `wait_status` reports: its exit status and, for a
// failure, the last error it logged (or a line naming the command).
RunResult runtime_result(const RuntimeConfig& rc, const std::vector<std::string>& args, int wait_status,
                         off_t log_start);

// Runs the runtime to completion, blocking: for the shim's own `delete` command, which has no
// event loop. The server runs commands through RuntimeCalls instead. With capture, stdout is read
// into RunResult::output.
RunResult run_runtime(const RuntimeConfig& rc, const std::vector<std::string>& args, Stdio io = {},
                      bool capture = false);

// The last "error" level message in a runc-style json log, or "" (pure; unit-tested).
std::string last_log_error(const std::string& log_text);

}  // namespace husk::shim
