#include "runtime/container/validate.hpp"

#include <sys/stat.h>

#include <string>

#include "common/error.hpp"
#include "common/log.hpp"
#include "namespaces.hpp"
#include "rootfs.hpp"
#include "runtime/cgroups/convert.hpp"
#include "security.hpp"

namespace husk::container {
namespace {

// Whether the container gets a namespace of this type that is not husk's own: a new one, or
// one joined by path that is another (a pod's). Joining husk's own would set the host's value.
bool owns_namespace(const spec::Linux& l, const char* type) {
    const spec::Namespace* n = l.find_namespace(type);
    if (!n) return false;
    if (n->path.empty()) return true;
    struct stat theirs, ours;
    if (::stat(n->path.c_str(), &theirs) != 0) return true;  // ns::plan names the bad path
    std::string own = std::string("/proc/self/ns/") + ns::proc_name(type);
    return ::stat(own.c_str(), &ours) != 0 || theirs.st_ino != ours.st_ino || theirs.st_dev != ours.st_dev;
}

// As runc: only sysctls of a namespace the container owns may be set, and kernel.hostname not
// at all (the config's hostname field says it).
void validate_sysctls(const spec::Config& c) {
    if (!c.linux) return;
    for (const auto& [key, value] : c.linux->sysctl) {
        if (key.find("..") != std::string::npos || key.find('/') != std::string::npos)
            throw Error("linux.sysctl: invalid key \"" + key + "\"");
        if (key == "kernel.hostname")
            throw Error("linux.sysctl: \"kernel.hostname\" is not allowed: it conflicts with the hostname field");
        const char* ns = nullptr;
        if (key.rfind("kernel.msg", 0) == 0 || key == "kernel.sem" || key.rfind("kernel.shm", 0) == 0 ||
            key.rfind("fs.mqueue.", 0) == 0)
            ns = "ipc";
        else if (key.rfind("net.", 0) == 0)
            ns = "network";
        else if (key == "kernel.domainname")
            ns = "uts";
        if (!ns) throw Error("linux.sysctl: \"" + key + "\" is not in a separate kernel namespace");
        if (!owns_namespace(*c.linux, ns))
            throw Error("linux.sysctl: \"" + key + "\" is not in a namespace of the container's own (needs a " +
                        ns + " namespace other than the host's)");
    }
}

}  // namespace

void validate(const spec::Config& c) {
    if (!c.process) throw Error("process: is required to create a container");
    if (c.process->args.empty()) throw Error("process.args: is required and must not be empty");
    security::validate(c);
    validate_sysctls(c);
    if (c.linux && c.linux->resources) {
        const auto& devices = c.linux->resources->devices;
        for (size_t i = 0; i < devices.size(); ++i)
            if (!devices[i].ignored_access.empty())
                log::warn("linux.resources.devices[" + std::to_string(i) + "].access: \"" +
                          devices[i].ignored_access + "\" is not r, w or m; ignored, as runc does");
        cgroups::validate(*c.linux->resources);
    }
    rootfs::check_mount_destinations(c);
}

}  // namespace husk::container
