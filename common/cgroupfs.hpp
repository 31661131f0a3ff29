// Reading cgroup files and /proc/<pid>/cgroup, the same way for the runtime and the shim.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace husk::cgroupfs {

// The file's text without its trailing newline; nullopt when it cannot be read.
std::optional<std::string> read(const std::string& path);
// A one-number file: "max" (no limit) is `if_max` (2^64-1 unless the caller's protocol says
// otherwise: containerd reports v1's "max" as 0); a missing or empty file is 0.
uint64_t read_u64(const std::string& path, uint64_t if_max = UINT64_MAX);
// "key value" lines (memory.stat, cpu.stat, memory.events, memory.oom_control).
std::map<std::string, uint64_t> read_keyed(const std::string& path);

// The same for dir/file.
inline std::optional<std::string> read(const std::string& dir, const std::string& file) { return read(dir + "/" + file); }
inline uint64_t read_u64(const std::string& dir, const std::string& file) { return read_u64(dir + "/" + file); }
inline std::map<std::string, uint64_t> read_keyed(const std::string& dir, const std::string& file) {
    return read_keyed(dir + "/" + file);
}

// One line of /proc/<pid>/cgroup: "id:controllers:path" (controllers empty for cgroup v2).
struct Membership {
    int hierarchy = 0;
    std::string controllers_text;          // "cpu,cpuacct", "name=systemd", ""
    std::vector<std::string> controllers;  // the same, split
    std::string path;
    bool has(const std::string& controller) const;
};
std::vector<Membership> parse_proc_cgroup(const std::string& text);
// /proc/<pid>/cgroup (pid 0: this process); empty when it cannot be read.
std::vector<Membership> cgroups_of(pid_t pid);

}  // namespace husk::cgroupfs
