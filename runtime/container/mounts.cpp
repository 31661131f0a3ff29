#include "mounts.hpp"

#include <linux/mount.h>
#include <sys/mount.h>

#include <map>

namespace husk::mounts {
namespace {

enum class Kind { Attr, ClearAttr, RecAttr, RecClearAttr, Atime, RecAtime, Prop, SbFlag, Ignore };

struct Entry {
    Kind kind;
    uint64_t value;
};

const std::map<std::string, Entry>& table() {
    static const std::map<std::string, Entry> t = {
        {"nosuid", {Kind::Attr, MOUNT_ATTR_NOSUID}},
        {"suid", {Kind::ClearAttr, MOUNT_ATTR_NOSUID}},
        {"nodev", {Kind::Attr, MOUNT_ATTR_NODEV}},
        {"dev", {Kind::ClearAttr, MOUNT_ATTR_NODEV}},
        {"noexec", {Kind::Attr, MOUNT_ATTR_NOEXEC}},
        {"exec", {Kind::ClearAttr, MOUNT_ATTR_NOEXEC}},
        {"nosymfollow", {Kind::Attr, MOUNT_ATTR_NOSYMFOLLOW}},
        {"symfollow", {Kind::ClearAttr, MOUNT_ATTR_NOSYMFOLLOW}},
        {"nodiratime", {Kind::Attr, MOUNT_ATTR_NODIRATIME}},
        {"diratime", {Kind::ClearAttr, MOUNT_ATTR_NODIRATIME}},
        {"noatime", {Kind::Atime, MOUNT_ATTR_NOATIME}},
        {"relatime", {Kind::Atime, MOUNT_ATTR_RELATIME}},
        {"strictatime", {Kind::Atime, MOUNT_ATTR_STRICTATIME}},
        {"atime", {Kind::Atime, MOUNT_ATTR_RELATIME}},
        {"norelatime", {Kind::Atime, MOUNT_ATTR_STRICTATIME}},
        {"nostrictatime", {Kind::Atime, MOUNT_ATTR_RELATIME}},
        {"rnosuid", {Kind::RecAttr, MOUNT_ATTR_NOSUID}},
        {"rsuid", {Kind::RecClearAttr, MOUNT_ATTR_NOSUID}},
        {"rnodev", {Kind::RecAttr, MOUNT_ATTR_NODEV}},
        {"rdev", {Kind::RecClearAttr, MOUNT_ATTR_NODEV}},
        {"rnoexec", {Kind::RecAttr, MOUNT_ATTR_NOEXEC}},
        {"rexec", {Kind::RecClearAttr, MOUNT_ATTR_NOEXEC}},
        {"rnosymfollow", {Kind::RecAttr, MOUNT_ATTR_NOSYMFOLLOW}},
        {"rsymfollow", {Kind::RecClearAttr, MOUNT_ATTR_NOSYMFOLLOW}},
        {"rnodiratime", {Kind::RecAttr, MOUNT_ATTR_NODIRATIME}},
        {"rdiratime", {Kind::RecClearAttr, MOUNT_ATTR_NODIRATIME}},
        {"rro", {Kind::RecAttr, MOUNT_ATTR_RDONLY}},
        {"rrw", {Kind::RecClearAttr, MOUNT_ATTR_RDONLY}},
        {"rnoatime", {Kind::RecAtime, MOUNT_ATTR_NOATIME}},
        {"rrelatime", {Kind::RecAtime, MOUNT_ATTR_RELATIME}},
        {"rstrictatime", {Kind::RecAtime, MOUNT_ATTR_STRICTATIME}},
        {"ratime", {Kind::RecAtime, MOUNT_ATTR_RELATIME}},
        {"rnorelatime", {Kind::RecAtime, MOUNT_ATTR_STRICTATIME}},
        {"rnostrictatime", {Kind::RecAtime, MOUNT_ATTR_RELATIME}},
        {"shared", {Kind::Prop, MS_SHARED}},
        {"rshared", {Kind::Prop, MS_SHARED | MS_REC}},
        {"slave", {Kind::Prop, MS_SLAVE}},
        {"rslave", {Kind::Prop, MS_SLAVE | MS_REC}},
        {"private", {Kind::Prop, MS_PRIVATE}},
        {"rprivate", {Kind::Prop, MS_PRIVATE | MS_REC}},
        {"unbindable", {Kind::Prop, MS_UNBINDABLE}},
        {"runbindable", {Kind::Prop, MS_UNBINDABLE | MS_REC}},
        {"sync", {Kind::SbFlag, 0}},
        {"dirsync", {Kind::SbFlag, 0}},
        {"mand", {Kind::SbFlag, 0}},
        {"lazytime", {Kind::SbFlag, 0}},
        {"silent", {Kind::SbFlag, 0}},
        {"iversion", {Kind::SbFlag, 0}},
        {"async", {Kind::Ignore, 0}},
        {"nomand", {Kind::Ignore, 0}},
        {"nolazytime", {Kind::Ignore, 0}},
        {"loud", {Kind::Ignore, 0}},
        {"noiversion", {Kind::Ignore, 0}},
        {"defaults", {Kind::Ignore, 0}},
    };
    return t;
}

}  // namespace

Options parse(const std::vector<std::string>& options) {
    Options o;
    for (const auto& opt : options) {
        if (opt == "bind") {
            o.bind = true;
        } else if (opt == "rbind") {
            o.bind = o.recursive = true;
        } else if (opt == "remount") {
            o.remount = true;
        } else if (opt == "ro") {
            o.readonly = true;
        } else if (opt == "rw") {
            o.readonly = false;
        } else if (opt == "idmap") {
            o.idmap = true;
        } else if (opt == "ridmap") {
            o.ridmap = true;
        } else if (opt == "tmpcopyup") {
            o.tmpcopyup = true;
        } else if (auto it = table().find(opt); it != table().end()) {
            uint64_t v = it->second.value;
            switch (it->second.kind) {
                case Kind::Attr: o.attr_set |= v; o.attr_clr &= ~v; break;
                case Kind::ClearAttr: o.attr_clr |= v; o.attr_set &= ~v; break;
                case Kind::RecAttr: o.rec_attr_set |= v; o.rec_attr_clr &= ~v; break;
                case Kind::RecClearAttr: o.rec_attr_clr |= v; o.rec_attr_set &= ~v; break;
                case Kind::Atime:
                    o.attr_set = (o.attr_set & ~MOUNT_ATTR__ATIME) | v;
                    o.attr_clr |= MOUNT_ATTR__ATIME;
                    break;
                case Kind::RecAtime:
                    o.rec_attr_set = (o.rec_attr_set & ~MOUNT_ATTR__ATIME) | v;
                    o.rec_attr_clr |= MOUNT_ATTR__ATIME;
                    break;
                case Kind::Prop: o.propagation.push_back(v); break;
                case Kind::SbFlag: o.sb_flags.push_back(opt); break;
                case Kind::Ignore: break;
            }
        } else {
            o.data.push_back(opt);
        }
    }
    return o;
}

}  // namespace husk::mounts
