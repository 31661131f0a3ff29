// Container programs are exec'd through husk-exec (runtime/exec_stub), a tiny stub held in a
// sealed memfd, never straight from husk's image. Until it execs, a container process is husk's
// image and its /proc/self/exe is husk's binary on the host: a program that names
// /proc/self/exe as its interpreter would run that binary inside the container, where
// /proc/<pid>/exe then opens it for writing (CVE-2019-5736). Through the stub, /proc/self/exe
// at that moment is a sealed copy of the stub, private to this process.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "spec/config.hpp"
#include "common/unique_fd.hpp"

namespace husk::exec_stub {

// How the stub is entered: execveat(fd, "", AT_EMPTY_PATH) where the container's seccomp
// profile plainly allows execveat, else execve("/proc/self/fd/N") (execve it must allow anyway).
enum class Via { Execveat, ProcFd };

struct Stub {
    UniqueFd fd;
    Via via = Via::Execveat;
};

// What the stub does between its exec and the program's.
struct Handoff {
    // Written to, then closed: exec-time LSM labels, which must apply to the program's execve.
    std::vector<std::pair<UniqueFd, std::string>> writes;
    // Kept open through the stub, closed at the program's execve.
    std::vector<int> close_at_exec;
    // Likewise; where the program's execve fails, the stub writes "X<errno>" here.
    int report_fd = -1;
    // Capability sets the stub restores before the program's execve: effective, inheritable,
    // ambient (see security::carry_capabilities_through_stub).
    std::optional<std::array<uint64_t, 3>> caps;
    // Where set, the stub waits for `husk start` first (init's exec.fifo read end and its sync
    // socket to husk create; see init.cpp wait_for_start, which this replaces), then closes
    // the socket.
    int wait_fifo = -1, wait_sync = -1;
};

// The sealed memfd, made before the container's seccomp filter (which may deny memfd_create).
Stub make(const spec::Seccomp* seccomp);
// Whether the profile allows execveat whatever its arguments.
bool allows_execveat(const spec::Seccomp& s);

// Execs the stub, which execs `path` with `argv` and `env`. Returns only on failure, with errno.
int exec(const Stub& stub, const std::string& path, const std::vector<std::string>& argv,
         const std::vector<std::string>& env, const Handoff& handoff = {});

// The error the stub reported for the program's execve ("X<errno>"), or 0 if `msg` is none.
int reported_errno(const std::string& msg);

}  // namespace husk::exec_stub
