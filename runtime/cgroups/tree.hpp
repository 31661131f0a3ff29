// Walking a cgroup directory tree: the cgroups below one, their processes, and removing them.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace husk::cgroups {

// A cgroup file's value without its trailing whitespace.
std::string trim(const std::string& s);
// The directories right below dir (cgroups made inside it); none if dir is gone meanwhile.
std::vector<std::string> child_dirs(const std::string& dir);
// Whether a v1 cgroup or any cgroup below it has processes (v1 has no "populated" file).
bool has_processes_below(const std::string& dir, int depth = 0);
// The directories below dir (cgroups made inside the container's), deepest first.
void subdirs_deepest_first(const std::string& dir, std::vector<std::string>& out, int depth = 0);
// Appends the pids of dir's cgroup.procs; none if it cannot be read.
void read_pids(const std::string& dir, std::vector<pid_t>& out);
// rmdir, retried while the cgroup is briefly busy (its last task has just exited).
void remove_cgroup_dir(const std::string& dir);

}  // namespace husk::cgroups
