// The OCI runtime state (runtime.md "State"): what `husk state` prints and hooks read on stdin.
// runc adds rootfs, created and owner; callers such as containerd read them, so we do too.
#pragma once

#include <map>
#include <string>
#include <sys/types.h>

namespace husk::spec {

struct State {
    std::string id;
    std::string status;  // creating, created, running, paused, stopped
    pid_t pid = 0;
    std::string bundle;
    std::string rootfs;
    std::string created;  // RFC 3339 with nanoseconds
    std::string owner;
    std::map<std::string, std::string> annotations;
};

// The runtime-spec form (ociVersion, id, status, pid, bundle, annotations), for hooks.
std::string state_to_oci_json(const State& s);
// runc's `state` form: the OCI fields plus rootfs, created and owner, indented.
std::string state_to_runc_json(const State& s);

}  // namespace husk::spec
