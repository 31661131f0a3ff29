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

    RuntimeConfig runtime_config(const std::string& ns, const std::string& bundle) const;
};

// Unknown option types are ignored, as containerd's runc shim ignores options it cannot use.
ShimOptions options_from_any(const std::string& type_url, const std::string& value, const std::string& default_binary);

void save_options(const std::string& bundle, const ShimOptions& o);
// Defaults (with default_binary) when the bundle holds no saved options.
ShimOptions load_options(const std::string& bundle, const std::string& default_binary);

}  // namespace husk::shim
