// Linux namespaces: config names to clone flags, joining by path, user-namespace id maps and
// time-namespace offsets.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "spec/config.hpp"
#include "common/unique_fd.hpp"

namespace husk::ns {

int clone_flag(const std::string& type);
// The /proc/<pid>/ns/<name> file name of a namespace type ("network" -> "net").
const char* proc_name(const std::string& type);

struct Join {
    std::string type;
    int flag = 0;
    UniqueFd fd;
};

// What the container gets: namespaces to create (clone flags) and to join (opened fds).
struct Plan {
    int new_flags = 0;
    std::vector<Join> joins;
    bool new_user() const;
    bool joined(int flag) const;
};

// Opens every `path` namespace up front so that a bad path fails before anything is created.
Plan plan(const spec::Linux* linux);

// Writes /proc/<pid>/{uid_map,setgroups,gid_map} for a child in a new user namespace
// (setgroups "deny" only when not root, which the kernel requires then).
void write_id_maps(pid_t pid, const std::vector<spec::IdMapping>& uids, const std::vector<spec::IdMapping>& gids);
std::string format_id_map(const std::vector<spec::IdMapping>& maps);

// In the child: setns() into every joined namespace of the given kinds, in a safe order.
void join(const Plan& plan, bool user_only);

// In the child: unshare a time namespace, set its offsets and enter it.
void enter_new_time_ns(const std::map<std::string, spec::TimeOffset>& offsets);

}  // namespace husk::ns
