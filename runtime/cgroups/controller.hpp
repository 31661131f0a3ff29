// What every controller file shares: the Controller table entry (apply + stats), and helpers
// that write a resource into a cgroup file with an error naming the spec field.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/cgroupfs.hpp"
#include "spec/config.hpp"

namespace husk::cgroups {

using Json = nlohmann::json;

// One controller of one cgroup version. `wanted` says whether the resources ask anything of it
// (so a host without the controller fails only when it is needed); `field` names the spec field
// in errors; `stats` adds its part of runc's events "data" object to `out`.
struct Controller {
    const char* name;   // kernel controller name: "memory", "cpu", "io" ...
    const char* field;  // "linux.resources.memory"
    bool (*wanted)(const spec::Resources&);
    void (*apply)(const spec::Resources&, const std::string& dir);
    void (*stats)(const std::string& dir, Json& out);
};

// Writes value to dir/file (truncating). A missing file is "not available on this host", a
// failed write carries errno's text; both name `field`.
void set(const std::string& dir, const std::string& file, const std::string& value, const std::string& field);
bool has(const std::string& dir, const std::string& file);
// The readers the shim shares (common/cgroupfs): "max" reads as UINT64_MAX, a missing file as 0.
using cgroupfs::read;
using cgroupfs::read_keyed;
using cgroupfs::read_u64;
std::vector<std::string> split(const std::string& s, char sep);

// Where v1 and v2 share an interface, one implementation serves both versions' controllers.
// Whether the resources set anything of the cpu controller (cpuset aside).
bool wants_cpu(const spec::Resources& r);
// cpuset.cpus and cpuset.mems.
void apply_cpuset(const spec::Resources& r, const std::string& dir);
// hugetlb.<size>.<limit_file> per hugepageLimits entry, and the sizes whose files dir has.
void apply_hugetlb(const spec::Resources& r, const std::string& dir, const std::string& limit_file);
std::vector<std::string> hugepage_sizes(const std::string& dir, const std::string& limit_file);

// Controllers whose files are the same on v1 and v2 (pids.cpp, rdma.cpp): one for both.
extern const Controller pids, rdma;

}  // namespace husk::cgroups
