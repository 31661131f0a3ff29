// linux.seccomp with libseccomp: validates a profile, builds and loads its filter, and hands a
// SCMP_ACT_NOTIFY listener fd to the agent at listenerPath (runtime-spec "ContainerProcessState").
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "spec/config.hpp"
#include "common/unique_fd.hpp"

namespace husk::seccomp {

// Checks what the parser cannot: architectures and flags known to this libseccomp, actions the
// kernel offers, and that listenerPath is a socket. Runs before anything is created.
void validate(const spec::Seccomp& s);

// Builds the filter and loads it into the calling process. Returns the notify listener fd when
// the profile has SCMP_ACT_NOTIFY rules, an empty fd otherwise.
UniqueFd load(const spec::Seccomp& s);

// The runtime-spec ContainerProcessState message for the listener (`state_json` is the
// container's state); exposed for tests.
std::string process_state_message(const spec::Seccomp& s, pid_t pid, const std::string& state_json);
// Connects to listenerPath and sends the message with `notify_fd` attached (SCM_RIGHTS).
void send_to_listener(const spec::Seccomp& s, int notify_fd, pid_t pid, const std::string& state_json);

// What this build and kernel support, for `husk features`.
std::vector<std::string> supported_actions();
std::vector<std::string> supported_operators();
std::vector<std::string> supported_architectures();
std::vector<std::string> supported_flags();

}  // namespace husk::seccomp
