// Cgroup file helpers shared by the v1 and v2 controllers.
#include "controller.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <sstream>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "common/unique_fd.hpp"

namespace husk::cgroups {

void set(const std::string& dir, const std::string& file, const std::string& value, const std::string& field) {
    std::string path = dir + "/" + file;
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC));
    if (!fd) {
        if (errno == ENOENT) throw Error(field + ": " + file + " is not available on this host (no " + path + ")");
        throw_errno(field + ": open " + path);
    }
    if (::write(fd.get(), value.data(), value.size()) != static_cast<ssize_t>(value.size()))
        throw_errno(field + ": write \"" + value + "\" to " + path);
}

bool has(const std::string& dir, const std::string& file) { return ::access((dir + "/" + file).c_str(), F_OK) == 0; }

std::vector<std::string> split(const std::string& s, char sep) {
    // As getline would: no piece after a final separator. Streams are avoided on the create
    // path: the first one costs a locale set-up.
    std::vector<std::string> out;
    size_t pos = 0;
    while (pos < s.size()) {
        size_t end = s.find(sep, pos);
        if (end == std::string::npos) end = s.size();
        out.push_back(s.substr(pos, end - pos));
        pos = end + 1;
    }
    return out;
}

bool wants_cpu(const spec::Resources& r) {
    if (!r.cpu) return false;
    auto& c = *r.cpu;
    return (c.shares && *c.shares) || (c.quota && *c.quota) || (c.period && *c.period) || c.burst ||
           (c.realtime_runtime && *c.realtime_runtime) || (c.realtime_period && *c.realtime_period) || c.idle;
}

void apply_cpuset(const spec::Resources& r, const std::string& dir) {
    if (!r.cpu->cpus.empty()) set(dir, "cpuset.cpus", r.cpu->cpus, "linux.resources.cpu.cpus");
    if (!r.cpu->mems.empty()) set(dir, "cpuset.mems", r.cpu->mems, "linux.resources.cpu.mems");
}

void apply_hugetlb(const spec::Resources& r, const std::string& dir, const std::string& limit_file) {
    for (size_t i = 0; i < r.hugepage_limits.size(); ++i) {
        auto& h = r.hugepage_limits[i];
        set(dir, "hugetlb." + h.page_size + "." + limit_file, std::to_string(h.limit),
            "linux.resources.hugepageLimits[" + std::to_string(i) + "]");
    }
}

std::vector<std::string> hugepage_sizes(const std::string& dir, const std::string& limit_file) {
    std::vector<std::string> out;
    for (const char* size : {"64KB", "2MB", "32MB", "512MB", "1GB", "16GB"})
        if (has(dir, std::string("hugetlb.") + size + "." + limit_file)) out.push_back(size);
    return out;
}

}  // namespace husk::cgroups
