// The shim binary's commands as containerd runs them: `start` (find or launch the long-lived
// server for this container's group, print its address) and `delete` (clean up after a dead shim).
#pragma once

#include <string>

namespace husk::shim {

// The gRPC server binary, next to this one; `start` runs it when gRPC is asked for.
inline constexpr const char* kGrpcServerBinary = "containerd-shim-husk-v2-grpc";
// The listening socket `start` hands to the gRPC server binary.
inline constexpr int kListenFd = 3;

struct Flags {
    std::string ns, address, publish_binary, id, bundle;
    std::string socket_path;  // -husk-socket: the gRPC server binary's listening socket
    bool debug = false;
    std::string action;
};

// Parses Go-flag style arguments (-name value, -name=value, --name); throws husk::Error.
Flags parse_flags(int argc, char** argv);

// "unix:///run/containerd/s/<sha256 hex of address/ns/group>" (pure; unit-tested).
std::string socket_address(const std::string& containerd_address, const std::string& ns, const std::string& group);

// The transport `start` chooses: the Protocol key of the runtime options containerd writes to its
// stdin (runtimeoptions.v1 config), else $HUSK_SHIM_PROTOCOL; "grpc" or "ttrpc" (pure; unit-tested).
std::string choose_protocol(const std::string& options_any, const char* env);

// What `start` prints: the plain address for ttrpc (all containerd releases), the version-3
// bootstrap JSON for gRPC (containerd 2.x; its address is a bare socket path) (pure; unit-tested).
std::string bootstrap_line(const std::string& address, const std::string& protocol);

// The id whose shim this container joins: a CRI pod's sandbox id, else its own id.
std::string group_id(const std::string& config_json, const std::string& id);

int cmd_start(const Flags& f);
int cmd_delete(const Flags& f);

}  // namespace husk::shim
