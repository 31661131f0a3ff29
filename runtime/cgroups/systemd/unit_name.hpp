// linux.cgroupsPath under the systemd cgroup driver: "slice:prefix:name" becomes the unit husk
// asks systemd for, its parent slice, and the cgroup systemd gives that unit.
#pragma once

#include <string>

namespace husk::cgroups::systemd {

struct UnitName {
    std::string slice;   // the parent slice: "system.slice", "-.slice" (the root slice)
    std::string unit;    // "husk-abc.scope", or "a-b.slice" when the name is a slice
    std::string cgroup;  // the unit's cgroup below its manager's: "/system.slice/husk-abc.scope"
    bool is_slice() const;
};

// As runc: an empty path is ":husk:<id>"; an empty slice is system.slice (user.slice for a
// rootless husk), "-" the root slice; the unit is "prefix-name.scope" ("name.scope" without a
// prefix), or the name itself when it ends in ".slice". Errors name linux.cgroupsPath.
UnitName parse_cgroups_path(const std::string& cgroups_path, const std::string& id, bool rootless);

// A slice's cgroup: "a-b.slice" -> "/a.slice/a-b.slice", "-.slice" -> "/". `field` names the
// input in errors.
std::string expand_slice(const std::string& slice, const std::string& field);

}  // namespace husk::cgroups::systemd
