// events: the container's resource usage as runc's JSON events, once (--stats) or every
// --interval, plus an "oom" event whenever its memory cgroup hits an OOM.
#include <poll.h>

#include <chrono>
#include <cstdio>
#include <regex>

#include <nlohmann/json.hpp>

#include "args.hpp"
#include "runtime/cgroups/manager.hpp"
#include "common/oom.hpp"
#include "commands.hpp"
#include "runtime/container/handle.hpp"
#include "common/error.hpp"

namespace husk::cli {
namespace {

// Go durations as runc takes them: "5s", "500ms", "1m30s".
int64_t parse_interval_ms(const std::string& v) {
    static const std::regex part(R"((\d+(?:\.\d+)?)(ms|s|m|h))");
    int64_t total = 0;
    size_t pos = 0;
    for (std::sregex_iterator it(v.begin(), v.end(), part), end; it != end; ++it) {
        if (static_cast<size_t>(it->position()) != pos) break;
        double n = std::stod((*it)[1].str());
        std::string u = (*it)[2].str();
        total += static_cast<int64_t>(n * (u == "ms" ? 1 : u == "s" ? 1000 : u == "m" ? 60000 : 3600000));
        pos += static_cast<size_t>(it->length());
    }
    if (v.empty() || pos != v.size() || total <= 0)
        throw Error("--interval: invalid duration \"" + v + "\" (e.g. 5s, 500ms)");
    return total;
}

// The container's cgroup, or nullopt once it is stopped or deleted.
std::optional<cgroups::Manager> live_cgroup(const std::string& root, const std::string& id) {
    return container::Container::load(root, id).live_cgroup();
}

// runc's event object, its fields in runc's order: {"type":"stats","id":"x","data":{...}},
// {"type":"oom","id":"x"} (no data).
void emit(const std::string& type, const std::string& id, const nlohmann::json* data) {
    nlohmann::ordered_json e;
    e["type"] = type;
    e["id"] = id;
    if (data) e["data"] = *data;
    // One line per event, flushed: a reader of a pipe sees each as it happens.
    std::printf("%s\n", e.dump().c_str());
    std::fflush(stdout);
}

}  // namespace

int cmd_events(const Globals& g, std::vector<std::string> argv) {
    bool stats_once = false;
    std::string interval = "5s";
    Args a(std::move(argv));
    a.boolean({"stats"}, &stats_once, "print one stats event and exit");
    a.value({"interval"}, &interval, "DURATION", "time between stats events (default 5s; also 500ms, 1m30s)");
    auto pos = a.parse();
    if (a.help())
        return print_usage(a, "events [options] CONTAINER-ID",
                           "Print the container's resource usage and OOM events as JSON lines.");
    expect_args("events", pos, 1, 1);
    const std::string& id = pos[0];
    int64_t every = parse_interval_ms(interval);
    auto cg = live_cgroup(g.root, id);
    if (!cg) throw Error("container \"" + id + "\" is not running");
    if (stats_once) {
        nlohmann::json s = cg->stats();
        emit("stats", id, &s);
        return 0;
    }
    OomNotifier oom(cg->memory_dir(), cg->layout() == cgroups::Layout::V2);
    auto next = std::chrono::steady_clock::now();
    for (;;) {
        auto now = std::chrono::steady_clock::now();
        if (now >= next) {
            try {
                cg = live_cgroup(g.root, id);
            } catch (const std::exception&) {
                cg.reset();
            }
            if (!cg) return 0;
            nlohmann::json s = cg->stats();
            emit("stats", id, &s);
            next = now + std::chrono::milliseconds(every);
            continue;
        }
        int wait = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(next - now).count()) + 1;
        pollfd p{oom.fd(), POLLIN, 0};
        int n = ::poll(&p, oom.fd() >= 0 ? 1 : 0, wait);
        if (n > 0 && oom.consume()) emit("oom", id, nullptr);
    }
}

}  // namespace husk::cli
