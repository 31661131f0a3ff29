#include "rootfs.hpp"

#include <sys/mount.h>

#include <cerrno>
#include <map>

#include "common/error.hpp"

namespace husk::shim {

MountFlags parse_mount_options(const std::vector<std::string>& options) {
    struct Flag {
        bool clear;
        unsigned long bits;
    };
    static const std::map<std::string, Flag> table = {
        {"ro", {false, MS_RDONLY}},        {"rw", {true, MS_RDONLY}},
        {"nosuid", {false, MS_NOSUID}},    {"suid", {true, MS_NOSUID}},
        {"nodev", {false, MS_NODEV}},      {"dev", {true, MS_NODEV}},
        {"noexec", {false, MS_NOEXEC}},    {"exec", {true, MS_NOEXEC}},
        {"sync", {false, MS_SYNCHRONOUS}}, {"async", {true, MS_SYNCHRONOUS}},
        {"noatime", {false, MS_NOATIME}},  {"atime", {true, MS_NOATIME}},
        {"nodiratime", {false, MS_NODIRATIME}}, {"relatime", {false, MS_RELATIME}},
        {"strictatime", {false, MS_STRICTATIME}},
        {"bind", {false, MS_BIND}},        {"rbind", {false, MS_BIND | MS_REC}},
        {"remount", {false, MS_REMOUNT}},  {"defaults", {false, 0}},
    };
    MountFlags out;
    for (const auto& o : options) {
        if (auto it = table.find(o); it != table.end()) {
            if (it->second.clear) out.flags &= ~it->second.bits;
            else out.flags |= it->second.bits;
            continue;
        }
        if (!out.data.empty()) out.data += ',';
        out.data += o;
    }
    return out;
}

void mount_all(const std::vector<MountSpec>& mounts, const std::string& target) {
    for (const auto& m : mounts) {
        MountFlags f = parse_mount_options(m.options);
        std::string type = m.type == "bind" ? "none" : m.type;
        if (m.type == "bind") f.flags |= MS_BIND;
        const char* data = f.data.empty() ? nullptr : f.data.c_str();
        unsigned long fl = (f.flags & MS_BIND) ? (f.flags & ~MS_RDONLY) : f.flags;
        if (::mount(m.source.c_str(), target.c_str(), type.c_str(), fl, data) != 0) {
            int err = errno;
            unmount_all(target);
            throw_errno("mount " + m.type + " " + m.source + " on " + target, err);
        }
        // A bind mount ignores MS_RDONLY on creation; make it read-only with a remount.
        if ((f.flags & MS_BIND) && (f.flags & MS_RDONLY) &&
            ::mount(nullptr, target.c_str(), nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY, nullptr) != 0) {
            int err = errno;
            unmount_all(target);
            throw_errno("remount read-only " + target, err);
        }
    }
}

void unmount_all(const std::string& target) {
    for (int i = 0; i < 64 && ::umount2(target.c_str(), MNT_DETACH) == 0; ++i) {
    }
}

}  // namespace husk::shim
