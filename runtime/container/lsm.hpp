// Linux security modules: process.apparmorProfile, process.selinuxLabel and linux.mountLabel,
// written to the real procfs only (no write can be redirected by the container's mounts).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "spec/config.hpp"
#include "common/unique_fd.hpp"

namespace husk::lsm {

bool apparmor_enabled();
bool selinux_enabled();

// As runc: an SELinux label on a host without SELinux is an error; an AppArmor profile on a
// host without AppArmor is ignored (there is nothing to confine with, and callers such as
// runtime-tools set one unconditionally).
void validate(const spec::Config& c);

// The exec-time labels (AppArmor "exec <profile>", the SELinux exec context): each attr file
// opened now, written by the exec stub so that the label applies to the program's execve.
std::vector<std::pair<UniqueFd, std::string>> exec_labels(const spec::Process& p);

}  // namespace husk::lsm
