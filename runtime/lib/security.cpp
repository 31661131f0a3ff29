#include "security.hpp"

#include <cap-ng.h>
#include <sys/prctl.h>

#include <algorithm>
#include <cstring>

#include "error.hpp"
#include "fs.hpp"
#include "log.hpp"

namespace husk::security {
namespace {

int last_cap() {
    static int cached = [] {
        std::string s;
        if (fs::try_read_file("/proc/sys/kernel/cap_last_cap", s)) return std::atoi(s.c_str());
        return static_cast<int>(CAP_LAST_CAP);
    }();
    return cached;
}

// -1: not a capability name at all; otherwise the number (which may exceed the kernel's).
int cap_number(const std::string& name) {
    std::string n = name;
    if (n.size() < 5 || n.compare(0, 4, "CAP_") != 0) return -1;
    n = n.substr(4);
    std::transform(n.begin(), n.end(), n.begin(), [](unsigned char c) { return std::tolower(c); });
    return capng_name_to_capability(n.c_str());
}

void check_set(const char* set, const std::vector<std::string>& names) {
    for (size_t i = 0; i < names.size(); ++i) {
        int n = cap_number(names[i]);
        if (n < 0)
            throw Error(std::string("process.capabilities.") + set + "[" + std::to_string(i) + "]: \"" + names[i] +
                        "\" is not a capability");
    }
}

void add_set(capng_type_t type, const char* set, const std::vector<std::string>& names) {
    for (const auto& name : names) {
        int n = cap_number(name);
        if (n > last_cap()) {
            log::warn(std::string("process.capabilities.") + set + ": " + name + " is not supported by this kernel, ignored");
            continue;
        }
        if (capng_update(CAPNG_ADD, type, static_cast<unsigned>(n)) != 0)
            throw Error(std::string("process.capabilities.") + set + ": cannot add " + name);
    }
}

}  // namespace

void validate(const spec::Process& p) {
    if (!p.capabilities) return;
    check_set("bounding", p.capabilities->bounding);
    check_set("effective", p.capabilities->effective);
    check_set("inheritable", p.capabilities->inheritable);
    check_set("permitted", p.capabilities->permitted);
    check_set("ambient", p.capabilities->ambient);
}

void before_user_switch(const spec::Process& p) {
    if (::prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) throw_errno("prctl(PR_SET_KEEPCAPS)");
    if (!p.capabilities) return;
    capng_get_caps_process();
    capng_clear(CAPNG_SELECT_BOUNDS);
    add_set(CAPNG_BOUNDING_SET, "bounding", p.capabilities->bounding);
    if (capng_apply(CAPNG_SELECT_BOUNDS) != 0) throw Error("apply capability bounding set: failed");
}

void apply_capabilities(const spec::Process& p) {
    if (!p.capabilities) {
        ::prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
        return;
    }
    capng_clear(CAPNG_SELECT_CAPS);
    add_set(CAPNG_EFFECTIVE, "effective", p.capabilities->effective);
    add_set(CAPNG_PERMITTED, "permitted", p.capabilities->permitted);
    add_set(CAPNG_INHERITABLE, "inheritable", p.capabilities->inheritable);
    if (capng_apply(CAPNG_SELECT_CAPS) != 0) throw_errno("apply capabilities (capset)");
    ::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
    for (const auto& name : p.capabilities->ambient) {
        int n = cap_number(name);
        if (n > last_cap()) continue;
        // The kernel allows only capabilities that are also permitted and inheritable; runc
        // carries on without those, and configs written for it rely on that.
        if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, n, 0, 0) != 0)
            log::debug("process.capabilities.ambient: " + name + " not raised: " + std::strerror(errno));
    }
    ::prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
}

}  // namespace husk::security
