#include "cgroupfs.hpp"

#include <cstdlib>

#include "fs.hpp"

namespace husk::cgroupfs {
namespace {

// Streams are avoided: the first one costs a locale set-up on the create path.
std::vector<std::string> split(const std::string& s, char sep) {
    std::vector<std::string> out;
    for (size_t pos = 0; pos < s.size();) {
        size_t end = s.find(sep, pos);
        if (end == std::string::npos) end = s.size();
        out.push_back(s.substr(pos, end - pos));
        pos = end + 1;
    }
    return out;
}

}  // namespace

std::optional<std::string> read(const std::string& path) {
    std::string text;
    if (!fs::try_read_file(path, text)) return std::nullopt;
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    return text;
}

uint64_t read_u64(const std::string& path, uint64_t if_max) {
    auto t = read(path);
    if (!t || t->empty()) return 0;
    if (t->rfind("max", 0) == 0) return if_max;
    return std::strtoull(t->c_str(), nullptr, 10);
}

std::map<std::string, uint64_t> read_keyed(const std::string& path) {
    std::map<std::string, uint64_t> out;
    auto t = read(path);
    if (!t) return out;
    for (const auto& line : split(*t, '\n')) {
        size_t sp = line.find(' ');
        if (sp == std::string::npos || sp == 0) continue;
        char* end = nullptr;
        uint64_t v = std::strtoull(line.c_str() + sp + 1, &end, 10);
        if (end == line.c_str() + sp + 1) continue;
        out[line.substr(0, sp)] = v;
    }
    return out;
}

bool Membership::has(const std::string& controller) const {
    for (const auto& c : controllers)
        if (c == controller) return true;
    return false;
}

std::vector<Membership> parse_proc_cgroup(const std::string& text) {
    std::vector<Membership> out;
    for (const auto& line : split(text, '\n')) {
        size_t a = line.find(':');
        size_t b = a == std::string::npos ? a : line.find(':', a + 1);
        if (b == std::string::npos) continue;
        Membership m;
        m.hierarchy = std::atoi(line.substr(0, a).c_str());
        m.controllers_text = line.substr(a + 1, b - a - 1);
        for (auto& c : split(m.controllers_text, ','))
            if (!c.empty()) m.controllers.push_back(c);
        m.path = line.substr(b + 1);
        out.push_back(std::move(m));
    }
    return out;
}

std::vector<Membership> cgroups_of(pid_t pid) {
    std::string text;
    if (!fs::try_read_file(pid ? "/proc/" + std::to_string(pid) + "/cgroup" : std::string("/proc/self/cgroup"), text))
        return {};
    return parse_proc_cgroup(text);
}

}  // namespace husk::cgroupfs
