// The shim binary's commands as containerd runs them: `start` (find or launch the long-lived
// server for this container's group, print its address) and `delete` (clean up after a dead shim).
#pragma once

#include <string>

namespace husk::shim {

struct Flags {
    std::string ns, address, publish_binary, id, bundle;
    bool debug = false;
    std::string action;
};

// Parses Go-flag style arguments (-name value, -name=value, --name); throws husk::Error.
Flags parse_flags(int argc, char** argv);

// "unix:///run/containerd/s/<sha256 hex of address/ns/group>" (pure; unit-tested).
std::string socket_address(const std::string& containerd_address, const std::string& ns, const std::string& group);

// The id whose shim this container joins: a CRI pod's sandbox id, else its own id.
std::string group_id(const std::string& config_json, const std::string& id);

int cmd_start(const Flags& f);
int cmd_delete(const Flags& f);

}  // namespace husk::shim
