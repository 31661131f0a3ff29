// state and list: what runc prints, in runc's shapes.
#include <cstdio>

#include <nlohmann/json.hpp>

#include "args.hpp"
#include "commands.hpp"
#include "runtime/container/container.hpp"
#include "common/error.hpp"

namespace husk::cli {

int cmd_state(const Globals& g, std::vector<std::string> argv) {
    Args a(std::move(argv));
    auto pos = a.parse();
    if (a.help()) return print_usage(a, "state CONTAINER-ID", "Print the container's state as JSON.");
    expect_args("state", pos, 1, 1);
    std::printf("%s\n", spec::state_to_runc_json(container::state(g.root, pos[0])).c_str());
    return 0;
}

int cmd_list(const Globals& g, std::vector<std::string> argv) {
    std::string format = "table";
    bool quiet = false;
    Args a(std::move(argv));
    a.value({"format", "f"}, &format, "FORMAT", "table or json (default table)");
    a.boolean({"quiet", "q"}, &quiet, "print the container ids only");
    auto pos = a.parse();
    if (a.help()) return print_usage(a, "list [options]", "List containers.");
    expect_args("list", pos, 0, 0);
    if (format != "table" && format != "json") throw UsageError("--format: invalid format \"" + format + "\" (table or json)");
    auto states = container::list(g.root);
    if (quiet) {
        for (auto& s : states) std::printf("%s\n", s.id.c_str());
        return 0;
    }
    if (format == "json") {
        nlohmann::ordered_json arr = nlohmann::ordered_json::array();
        for (auto& s : states) arr.push_back(nlohmann::ordered_json::parse(spec::state_to_runc_json(s)));
        std::printf("%s\n", states.empty() ? "null" : arr.dump().c_str());
        return 0;
    }
    size_t w = 2;
    for (auto& s : states) w = std::max(w, s.id.size());
    std::printf("%-*s   %-10s %-10s %-40s %-30s %s\n", static_cast<int>(w), "ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER");
    for (auto& s : states)
        std::printf("%-*s   %-10d %-10s %-40s %-30s %s\n", static_cast<int>(w), s.id.c_str(),
                    container::parse_status(s.status) == container::Status::Stopped ? 0 : s.pid, s.status.c_str(), s.bundle.c_str(), s.created.c_str(),
                    s.owner.c_str());
    return 0;
}

}  // namespace husk::cli
