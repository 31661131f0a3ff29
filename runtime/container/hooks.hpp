// OCI hooks: run a hook with the container state JSON on stdin, its env and args, and its
// timeout. Errors name the hook phase and path.
#pragma once

#include <string>
#include <vector>

#include "spec/config.hpp"
#include "exec_stub.hpp"

namespace husk::hooks {

// Runs each hook in order; throws husk::Error on the first that fails or times out. Hooks run by
// the container's init, in its namespaces, go through the exec stub (`stub`; see exec_stub.hpp):
// a startContainer hook's path is the image's to choose. A hook gets fds 0-2 only (the state on
// stdin), and without an "env" of its own `fallback_env`, or if null the runtime's environment.
void run_all(const char* phase, const std::vector<spec::Hook>& hooks, const std::string& state_json,
             const exec_stub::Stub* stub = nullptr, const std::vector<std::string>* fallback_env = nullptr);

}  // namespace husk::hooks
