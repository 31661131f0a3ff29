// Small process helpers shared by the runtime: argv building, signal reset before exec,
// liveness with pid-reuse protection, and wait-status text.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace husk::proc {

// Null-terminated char* views of strings (valid while `v` lives).
std::vector<char*> cstrings(const std::vector<std::string>& v);
// Default dispositions and an empty mask, as a freshly exec'd program expects.
void reset_signals();
// The two halves of it, for a caller that does the 64 sigactions ahead of time.
void reset_signal_dispositions();
void unblock_signals();
// Field 22 of /proc/<pid>/stat (start time in clock ticks); nullopt if gone or a zombie.
std::optional<uint64_t> start_time(pid_t pid);
// The pid, in our pid namespace, of the process a pidfd refers to (fdinfo's "Pid:"); -1 if it
// has exited or the fd is no pidfd.
pid_t pid_of_pidfd(int pidfd);
bool alive(pid_t pid, uint64_t start);
std::string describe_status(int wait_status);
// Exit code as a shell reports it: the status, or 128+N for signal N.
int exit_code(int wait_status);
int signal_number(const std::string& name);
// Whether this process is in the initial user namespace (uid_map "0 0 4294967295"): root there
// is really root; root in any other has no say over devices or the host's cgroups.
bool in_initial_user_ns();

// clone3() as fork: `flags` are CLONE_* (CLONE_NEW*, CLONE_PARENT...); with `pidfd` set the
// child's pidfd is stored there; with `cgroup_fd` >= 0 the child starts in that cgroup2 dir.
pid_t clone3(uint64_t flags, int* pidfd = nullptr, int cgroup_fd = -1);

}  // namespace husk::proc
