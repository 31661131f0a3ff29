// ps: the container's processes, as a JSON array of host pids or as `ps` output filtered to
// the container's rows (runc's behaviour; ps options follow the container id).
#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <cstdio>
#include <sstream>

#include <nlohmann/json.hpp>

#include "args.hpp"
#include "commands.hpp"
#include "runtime/container/handle.hpp"
#include "common/error.hpp"

namespace husk::cli {
namespace {

std::string run_ps(const std::vector<std::string>& args) {
    std::string cmd = "ps";
    for (auto& a : args) {
        std::string q = "'";
        for (char c : a) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
        cmd += " " + q + "'";
    }
    FILE* p = ::popen(cmd.c_str(), "re");
    if (!p) throw_errno("run ps");
    std::string out;
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    int status = ::pclose(p);
    if (status != 0) throw Error("ps " + std::string(WIFEXITED(status) ? "exited with status " + std::to_string(WEXITSTATUS(status)) : "failed") + ": " + out);
    return out;
}

}  // namespace

int cmd_ps(const Globals& g, std::vector<std::string> argv) {
    std::string format = "table";
    Args a(std::move(argv));
    a.flags_before_args();
    a.value({"format", "f"}, &format, "FORMAT", "table (ps output) or json (the host pids; default table)");
    auto pos = a.parse();
    if (a.help()) return print_usage(a, "ps [options] CONTAINER-ID [PS-OPTIONS...]", "List the container's processes.");
    expect_args("ps", pos, 1, SIZE_MAX);
    if (format != "table" && format != "json") throw UsageError("--format: invalid format \"" + format + "\" (table or json)");
    std::vector<pid_t> pids = container::Container::load(g.root, pos[0]).pids();
    if (format == "json") {
        std::printf("%s\n", nlohmann::json(pids).dump().c_str());
        return 0;
    }
    std::vector<std::string> ps_args(pos.begin() + 1, pos.end());
    if (ps_args.empty()) ps_args = {"-ef"};
    std::istringstream lines(run_ps(ps_args));
    std::string header;
    std::getline(lines, header);
    std::istringstream h(header);
    std::string col;
    int pid_col = -1;
    for (int i = 0; h >> col; ++i)
        if (col == "PID") pid_col = i;
    if (pid_col < 0) throw Error("ps: no PID column in the output of ps");
    std::printf("%s\n", header.c_str());
    std::string line;
    while (std::getline(lines, line)) {
        std::istringstream l(line);
        std::string field;
        for (int i = 0; i <= pid_col && l >> field; ++i) {
        }
        try {
            pid_t p = static_cast<pid_t>(std::stol(field));
            if (std::find(pids.begin(), pids.end(), p) != pids.end()) std::printf("%s\n", line.c_str());
        } catch (const std::exception&) {
        }
    }
    return 0;
}

}  // namespace husk::cli
