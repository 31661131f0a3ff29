// Process security applied at the end of container and exec setup: capabilities, seccomp,
// LSM labels and scheduling, behind calls that init and exec share. init.cpp owns the order.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "spec/config.hpp"
#include "common/unique_fd.hpp"

namespace husk::security {

// Checks a process's names before anything is created (runs in the parent; exec uses it too).
void validate(const spec::Process& process);
// The process plus linux.seccomp, netDevices, memoryPolicy, intelRdt and LSM settings.
void validate(const spec::Config& config);

// Settings that need privileges, before the user switch: scheduler and I/O priority.
void apply_process_settings(const spec::Process& process);

// linux.seccomp goes in at one of two points, decided by process.noNewPrivileges; call both at
// their places, each loads only in its own case. They return the SCMP_ACT_NOTIFY listener fd
// (empty when the profile has none), which the caller hands to the runtime parent.
UniqueFd load_seccomp_before_user_switch(const spec::Process& process, const spec::Seccomp* seccomp);
UniqueFd load_seccomp_before_exec(const spec::Process& process, const spec::Seccomp* seccomp);
// "CAP_CHOWN" ... up to the kernel's last capability, for `husk features`.
std::vector<std::string> known_capabilities();

// Before the uid switch: keep capabilities across setuid and shrink the bounding set.
void before_user_switch(const spec::Process& process);
// After the uid switch: effective, permitted, inheritable and ambient sets.
void apply_capabilities(const spec::Process& process);

// The sets (as masks) the exec stub restores before the program's execve (see exec_stub.hpp).
struct StubCaps {
    uint64_t effective = 0, inheritable = 0, ambient = 0;
};
// Right before the exec of the stub, for a user other than root: raises the effective
// capabilities that are not ambient into the ambient set (and so the inheritable one), so that
// they survive the stub's execve, and returns the sets the stub is to put back. Nothing to do
// (root, or no effective capability beyond the ambient ones) or not allowed: nullopt.
std::optional<StubCaps> carry_capabilities_through_stub();

}  // namespace husk::security
