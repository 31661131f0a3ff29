// Process security applied at the end of container and exec setup: capabilities now; seccomp,
// LSM labels and scheduling plug in here too. Order matters and is owned by init.cpp.
#pragma once

#include "config.hpp"

namespace husk::security {

// Checks names before anything is created (runs in the parent).
void validate(const spec::Process& process);
// Before the uid switch: keep capabilities across setuid and shrink the bounding set.
void before_user_switch(const spec::Process& process);
// After the uid switch: effective, permitted, inheritable and ambient sets.
void apply_capabilities(const spec::Process& process);

}  // namespace husk::security
