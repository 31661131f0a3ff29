// The runtime-spec mount option table ("Linux mount options") turned into mount attributes,
// propagation changes and filesystem data. Pure: unit-tested without mounting anything.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace husk::mounts {

struct Options {
    bool bind = false;
    bool recursive = false;  // rbind
    bool remount = false;
    bool readonly = false;   // ro / rw, kept apart: it also decides the superblock flag for fs mounts
    uint64_t attr_set = 0, attr_clr = 0;          // MOUNT_ATTR_*, this mount only
    uint64_t rec_attr_set = 0, rec_attr_clr = 0;  // r* options: the whole tree
    std::vector<unsigned long> propagation;       // MS_SHARED/MS_SLAVE/MS_PRIVATE/MS_UNBINDABLE [| MS_REC]
    std::vector<std::string> sb_flags;            // sync, dirsync, mand, lazytime, silent... (fsconfig flags)
    std::vector<std::string> data;                // everything else: filesystem-specific key[=value]
    bool idmap = false, ridmap = false;
    bool tmpcopyup = false;
};

Options parse(const std::vector<std::string>& options);

}  // namespace husk::mounts
