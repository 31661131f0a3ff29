// OCI hooks: run a hook with the container state JSON on stdin, its env and args, and its
// timeout. Errors name the hook phase and path.
#pragma once

#include <string>
#include <vector>

#include "config.hpp"

namespace husk::hooks {

// Runs each hook in order; throws husk::Error on the first that fails or times out.
void run_all(const char* phase, const std::vector<spec::Hook>& hooks, const std::string& state_json);

}  // namespace husk::hooks
