// The runtime options a task is created with (containerd.runc.v1.Options in Create's Any), and
// their copy in the bundle so the `delete` cleanup command can reach the same runtime state.
#pragma once

#include <string>

#include "runtime_cli.hpp"

namespace husk::shim {

struct ShimOptions {
    std::string binary;  // BinaryName, or the shim's default runtime
    std::string root;    // Root: the runtime state is kept under <root>/<namespace>
    bool systemd_cgroup = false;
    bool no_pivot_root = false;
    unsigned io_uid = 0, io_gid = 0;
    std::string protocol;  // Protocol: "grpc" serves task.v3 over gRPC; anything else ttrpc

    RuntimeConfig runtime_config(const std::string& ns, const std::string& bundle) const;
};

// Runtime options come as containerd.runc.v1.Options, or as runtimeoptions.v1.Options (CRI's
// choice for non-runc runtimes, and ctr --runtime-config-path) whose config is read as
// `Key = value` lines with runc's option names (BinaryName, Root, SystemdCgroup, NoPivotRoot,
// IoUid, IoGid) and husk's Protocol. Unknown option types are ignored, as containerd's runc shim ignores them.
ShimOptions options_from_any(const std::string& type_url, const std::string& value, const std::string& default_binary);

// Applies `Key = value` lines (a TOML subset) to o; unknown keys are ignored (pure; unit-tested).
void apply_config_text(ShimOptions& o, const std::string& text);

void save_options(const std::string& bundle, const ShimOptions& o);
// Defaults (with default_binary) when the bundle holds no saved options.
ShimOptions load_options(const std::string& bundle, const std::string& default_binary);

}  // namespace husk::shim
