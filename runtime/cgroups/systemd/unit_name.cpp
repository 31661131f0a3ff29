#include "unit_name.hpp"

#include <cctype>

#include "common/error.hpp"

namespace husk::cgroups::systemd {
namespace {

// Plain literals, not std::strings: nothing of the driver may run at husk's start.
constexpr const char* kField = "linux.cgroupsPath";
constexpr const char* kSlice = ".slice";
constexpr size_t kSliceLen = 6;

bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// systemd's unit name alphabet, and its length limit.
void check_unit_name(const std::string& unit, const std::string& what) {
    if (unit.size() > 255) throw Error(std::string(kField) + ": " + what + " \"" + unit + "\" is longer than 255 characters");
    for (unsigned char c : unit)
        if (!std::isalnum(c) && c != ':' && c != '-' && c != '_' && c != '.' && c != '\\')
            throw Error(std::string(kField) + ": " + what + " \"" + unit + "\" has a character systemd does not allow in unit names");
}

// The slice a slice unit belongs to, from its name: "a-b.slice" -> "a.slice", "a.slice" -> "-.slice".
std::string parent_of(const std::string& slice) {
    std::string base = slice.substr(0, slice.size() - kSliceLen);
    size_t dash = base.rfind('-');
    return dash == std::string::npos ? "-.slice" : base.substr(0, dash) + kSlice;
}

}  // namespace

bool UnitName::is_slice() const { return ends_with(unit, kSlice); }

std::string expand_slice(const std::string& slice, const std::string& field) {
    if (slice.find('/') != std::string::npos)
        throw Error(field + ": slice \"" + slice + "\" must not contain \"/\"");
    if (!ends_with(slice, kSlice)) throw Error(field + ": slice \"" + slice + "\" must end in \".slice\"");
    if (slice == "-.slice") return "/";
    std::string base = slice.substr(0, slice.size() - kSliceLen);
    std::string path, prefix;
    size_t start = 0;
    for (;;) {
        size_t dash = base.find('-', start);
        std::string part = base.substr(start, dash == std::string::npos ? std::string::npos : dash - start);
        if (part.empty())
            throw Error(field + ": slice \"" + slice + "\" is not a valid slice name (empty part between dashes)");
        prefix += (prefix.empty() ? "" : "-") + part;
        path += "/" + prefix + kSlice;
        if (dash == std::string::npos) break;
        start = dash + 1;
    }
    return path;
}

UnitName parse_cgroups_path(const std::string& cgroups_path, const std::string& id, bool rootless) {
    std::string path = cgroups_path.empty() ? ":husk:" + id : cgroups_path;
    size_t a = path.find(':'), b = a == std::string::npos ? a : path.find(':', a + 1);
    if (b == std::string::npos || path.find(':', b + 1) != std::string::npos)
        throw Error(std::string(kField) + ": \"" + cgroups_path + "\" is not \"slice:prefix:name\", as the systemd cgroup driver needs");
    std::string slice = path.substr(0, a), prefix = path.substr(a + 1, b - a - 1), name = path.substr(b + 1);
    if (name.empty()) throw Error(std::string(kField) + ": \"" + cgroups_path + "\" has an empty name (slice:prefix:name)");
    if (name.find('/') != std::string::npos || prefix.find('/') != std::string::npos)
        throw Error(std::string(kField) + ": \"" + cgroups_path + "\": prefix and name must not contain \"/\"");
    bool explicit_slice = !slice.empty();
    if (slice.empty()) slice = rootless ? "user.slice" : "system.slice";
    else if (slice == "-") slice = "-.slice";
    std::string parent = expand_slice(slice, kField);
    check_unit_name(slice, "slice");

    UnitName u;
    u.slice = slice;
    if (ends_with(name, kSlice)) {
        // A slice's place in the tree is in its name; systemd would ignore a parent that says otherwise.
        u.unit = name;
        u.cgroup = expand_slice(name, kField);
        if (explicit_slice && parent_of(name) != slice)
            throw Error(std::string(kField) + ": slice \"" + name + "\" belongs to \"" + parent_of(name) + "\", not \"" + slice + "\"");
        u.slice = parent_of(name);
    } else {
        u.unit = (prefix.empty() ? "" : prefix + "-") + name + ".scope";
        u.cgroup = (parent == "/" ? "" : parent) + "/" + u.unit;
    }
    check_unit_name(u.unit, "unit");
    return u;
}

}  // namespace husk::cgroups::systemd
