// The one seam between the shim and the runtime: runs `husk` (or any runc-compatible binary
// named by BinaryName) with runc's command line, and turns a failure into its logged error.
#pragma once

#include <string>
#include <vector>

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

// Runs the runtime to completion. The child gets an empty signal mask and default SIGCHLD/SIGPIPE
// whatever the shim blocks. With capture, stdout is read into RunResult::output.
RunResult run_runtime(const RuntimeConfig& rc, const std::vector<std::string>& args, Stdio io = {},
                      bool capture = false);

// The last "error" level message in a runc-style json log, or "" (pure; unit-tested).
std::string last_log_error(const std::string& log_text);

}  // namespace husk::shim
