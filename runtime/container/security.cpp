#include "security.hpp"

#include <cap-ng.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "common/log.hpp"
#include "lsm.hpp"
#include "net_devices.hpp"
#include "scheduling.hpp"
#include "seccomp.hpp"
#include "syscalls.hpp"

namespace husk::security {
namespace {

// The kernel's highest capability, asked of the kernel itself: PR_CAPBSET_READ fails with EINVAL
// past it. Not /proc/sys/kernel/cap_last_cap: this runs in init after pivot_root too, where /proc
// is whatever the container mounted there, and the bounding-set drop must not trust it.
int last_cap() {
    static int cached = [] {
        // Unanswerable (a seccomp filter denying the probe): what these headers know, so that
        // nothing is kept by mistake; dropping a capability the kernel lacks is a no-op.
        if (::prctl(PR_CAPBSET_READ, 0, 0, 0, 0) < 0) return static_cast<int>(CAP_LAST_CAP);
        int lo = 0, hi = 63;  // capabilities are bits of a 64-bit set
        while (lo < hi) {
            int mid = (lo + hi + 1) / 2;
            if (::prctl(PR_CAPBSET_READ, mid, 0, 0, 0) >= 0) lo = mid;
            else hi = mid - 1;
        }
        return lo;
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

// The capabilities of one set as a 64-bit mask; names the kernel does not know are skipped with
// a warning (as runc), names that are no capability at all were refused by validate().
uint64_t mask_of(const char* set, const std::vector<std::string>& names) {
    uint64_t mask = 0;
    for (const auto& name : names) {
        int n = cap_number(name);
        if (n < 0) throw Error(std::string("process.capabilities.") + set + ": \"" + name + "\" is not a capability");
        if (n > last_cap()) {
            log::warn(std::string("process.capabilities.") + set + ": " + name + " is not supported by this kernel, ignored");
            continue;
        }
        mask |= uint64_t{1} << n;
    }
    return mask;
}

struct CapSets {
    uint64_t effective = 0, permitted = 0, inheritable = 0;
};

// capget with the 64-bit (version 3) layout (capset: sys::Syscalls). Direct syscalls rather than
// libcap-ng's, which rereads /proc/self/status several times per container (~80 us in setup).
CapSets get_caps() {
    __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct d[2]{};
    if (::syscall(SYS_capget, &hdr, d) != 0) throw_errno("capget");
    auto join = [](uint32_t lo, uint32_t hi) { return uint64_t{lo} | (uint64_t{hi} << 32); };
    return {join(d[0].effective, d[1].effective), join(d[0].permitted, d[1].permitted),
            join(d[0].inheritable, d[1].inheritable)};
}

int set_caps(const CapSets& c) { return sys::current().capset(c.effective, c.permitted, c.inheritable); }

}  // namespace

std::vector<std::string> known_capabilities() {
    std::vector<std::string> out;
    for (int n = 0; n <= last_cap(); ++n) {
        const char* name = capng_capability_to_name(static_cast<unsigned>(n));
        if (!name) continue;
        std::string s = std::string("CAP_") + name;
        std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::toupper(c); });
        out.push_back(s);
    }
    return out;
}

void validate(const spec::Process& p) {
    // Asked here, in husk before any clone and before the container's seccomp filter, and
    // kept: init and exec processes only ever read the cached answer.
    last_cap();
    scheduling::validate(p);
    if (!p.capabilities) return;
    check_set("bounding", p.capabilities->bounding);
    check_set("effective", p.capabilities->effective);
    check_set("inheritable", p.capabilities->inheritable);
    check_set("permitted", p.capabilities->permitted);
    check_set("ambient", p.capabilities->ambient);
}

void validate(const spec::Config& c) {
    if (c.process) validate(*c.process);
    lsm::validate(c);
    if (!c.linux) return;
    const spec::Linux& l = *c.linux;
    scheduling::validate(l);
    net_devices::validate(l);
    if (l.seccomp) seccomp::validate(*l.seccomp);
    if (l.intel_rdt && !fs::exists("/sys/fs/resctrl/schemata"))
        throw Error("linux.intelRdt: is set but Intel RDT is not available (resctrl is not mounted at /sys/fs/resctrl)");
}

void apply_process_settings(const spec::Process& p) {
    scheduling::apply(p);
}

// Seccomp wants to go in as close to execve as possible, so that profiles need not allow
// husk's own setup calls. With no_new_privs that is right before exec.fifo (runc's point too:
// the notify fd still has to reach the parent over the sync socket). Without no_new_privs the
// kernel only lets a task holding CAP_SYS_ADMIN load a filter, so it must go in before the
// user switch drops capabilities; then setgroups/setresuid/capset/prctl, the sync socket,
// the wait on exec.fifo (poll/read/close), startContainer hooks, close_range, rt_sigaction and execve all
// run under the filter, and a profile that denies them fails the container with an error
// naming the step, as with runc. Profiles made for runc (docker's default) allow them all.
UniqueFd load_seccomp_before_user_switch(const spec::Process& p, const spec::Seccomp* s) {
    if (!s || p.no_new_privileges) return UniqueFd();
    return sys::current().load_seccomp(*s);
}

UniqueFd load_seccomp_before_exec(const spec::Process& p, const spec::Seccomp* s) {
    if (!s || !p.no_new_privileges) return UniqueFd();
    return sys::current().load_seccomp(*s);
}

void before_user_switch(const spec::Process& p) {
    if (sys::current().prctl(PR_SET_KEEPCAPS, 1, 0) != 0) throw_errno("prctl(PR_SET_KEEPCAPS)");
    if (!p.capabilities) return;
    uint64_t keep = mask_of("bounding", p.capabilities->bounding);
    for (int n = 0; n <= last_cap(); ++n) {
        if (keep & (uint64_t{1} << n)) continue;
        if (sys::current().prctl(PR_CAPBSET_DROP, n, 0) != 0 && errno != EINVAL)
            throw_errno("apply capability bounding set: drop capability " + std::to_string(n));
    }
}

std::optional<StubCaps> carry_capabilities_through_stub() {
    // Root's execve of the stub gives it its bounding set anyway; nothing to carry.
    if (::geteuid() == 0) return std::nullopt;
    CapSets cur = get_caps();
    uint64_t ambient = 0;
    for (int n = 0; n <= last_cap(); ++n)
        if ((cur.permitted & cur.inheritable & (uint64_t{1} << n)) &&
            ::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, n, 0, 0) == 1)
            ambient |= uint64_t{1} << n;
    uint64_t carry = cur.effective & ~ambient;
    if (!carry) return std::nullopt;
    // An ambient capability must be permitted and inheritable. Best effort: where a seccomp
    // profile denies this, the stub runs without them, as it would have anyway.
    CapSets raised = cur;
    raised.inheritable |= cur.effective;
    if (set_caps(raised) != 0) return std::nullopt;
    for (int n = 0; n <= last_cap(); ++n) {
        if (!(carry & (uint64_t{1} << n))) continue;
        if (sys::current().prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, n) != 0) {
            sys::current().prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0);
            set_caps(cur);
            for (int m = 0; m <= last_cap(); ++m)
                if (ambient & (uint64_t{1} << m)) sys::current().prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, m);
            return std::nullopt;
        }
    }
    return StubCaps{cur.effective, cur.inheritable, ambient};
}

void apply_capabilities(const spec::Process& p) {
    if (!p.capabilities) {
        sys::current().prctl(PR_SET_KEEPCAPS, 0, 0);
        return;
    }
    CapSets want{mask_of("effective", p.capabilities->effective), mask_of("permitted", p.capabilities->permitted),
                 mask_of("inheritable", p.capabilities->inheritable)};
    if (set_caps(want) != 0) {
        int err = errno;
        // Usually a capability husk itself lacks (a privileged config on a host that withholds
        // some): name it rather than leave a bare EPERM.
        uint64_t held = get_caps().permitted;
        std::string missing;
        for (const auto* set : {&p.capabilities->permitted, &p.capabilities->effective})
            for (const auto& name : *set) {
                int n = cap_number(name);
                if (n <= last_cap() && !(held & (uint64_t{1} << n)) && missing.find(name) == std::string::npos)
                    missing += (missing.empty() ? "" : ", ") + name;
            }
        if (!missing.empty())
            throw Error("process.capabilities: husk does not hold " + missing + " and cannot grant it (capset: " +
                        std::strerror(err) + ")");
        throw_errno("apply capabilities (capset)", err);
    }
    sys::current().prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0);
    for (const auto& name : p.capabilities->ambient) {
        int n = cap_number(name);
        if (n > last_cap()) continue;
        // The kernel allows only capabilities that are also permitted and inheritable; runc
        // carries on without those, and configs written for it rely on that.
        if (sys::current().prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, n) != 0)
            log::debug("process.capabilities.ambient: " + name + " not raised: " + std::strerror(errno));
    }
    sys::current().prctl(PR_SET_KEEPCAPS, 0, 0);
}

}  // namespace husk::security
