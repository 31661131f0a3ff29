#include "seccomp.hpp"

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <set>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "common/log.hpp"
#include "common/unix_socket.hpp"

namespace husk::seccomp {
namespace {

const char* const kField = "linux.seccomp";
// runc's words for a listener that cannot be reached, which callers match.
const char* const kNoAgent = "failed to connect with seccomp agent specified in the seccomp profile";

// Kernel names in /proc/sys/kernel/seccomp/actions_avail for each spec action.
const std::map<std::string, const char*> kKernelAction = {
    {"SCMP_ACT_KILL", "kill_thread"}, {"SCMP_ACT_KILL_THREAD", "kill_thread"},
    {"SCMP_ACT_KILL_PROCESS", "kill_process"}, {"SCMP_ACT_TRAP", "trap"},
    {"SCMP_ACT_ERRNO", "errno"}, {"SCMP_ACT_TRACE", "trace"},
    {"SCMP_ACT_ALLOW", "allow"}, {"SCMP_ACT_LOG", "log"},
    {"SCMP_ACT_NOTIFY", "user_notif"}};

const std::map<std::string, scmp_compare> kOperators = {
    {"SCMP_CMP_NE", SCMP_CMP_NE}, {"SCMP_CMP_LT", SCMP_CMP_LT}, {"SCMP_CMP_LE", SCMP_CMP_LE},
    {"SCMP_CMP_EQ", SCMP_CMP_EQ}, {"SCMP_CMP_GE", SCMP_CMP_GE}, {"SCMP_CMP_GT", SCMP_CMP_GT},
    {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ}};

struct FlagInfo {
    int attr;       // scmp_filter_attr, or -1 where this libseccomp has none
    int api_level;  // seccomp_api_get() needed for it
};
// SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV needs libseccomp 2.6 (SCMP_FLTATR_CTL_WAITKILL).
const std::map<std::string, FlagInfo> kFlags = {
    {"SECCOMP_FILTER_FLAG_TSYNC", {SCMP_FLTATR_CTL_TSYNC, 2}},
    {"SECCOMP_FILTER_FLAG_LOG", {SCMP_FLTATR_CTL_LOG, 3}},
    {"SECCOMP_FILTER_FLAG_SPEC_ALLOW", {SCMP_FLTATR_CTL_SSB, 4}},
#ifdef SCMP_FLTATR_CTL_WAITKILL
    {"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", {SCMP_FLTATR_CTL_WAITKILL, 7}},
#else
    {"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", {-1, 0}},
#endif
};

const char* const kArchitectures[] = {
    "SCMP_ARCH_X86",      "SCMP_ARCH_X86_64",    "SCMP_ARCH_X32",     "SCMP_ARCH_ARM",
    "SCMP_ARCH_AARCH64",  "SCMP_ARCH_MIPS",      "SCMP_ARCH_MIPS64",  "SCMP_ARCH_MIPS64N32",
    "SCMP_ARCH_MIPSEL",   "SCMP_ARCH_MIPSEL64",  "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC",
    "SCMP_ARCH_PPC64",    "SCMP_ARCH_PPC64LE",   "SCMP_ARCH_S390",    "SCMP_ARCH_S390X",
    "SCMP_ARCH_PARISC",   "SCMP_ARCH_PARISC64",  "SCMP_ARCH_RISCV64", "SCMP_ARCH_LOONGARCH64",
    "SCMP_ARCH_M68K",     "SCMP_ARCH_SH",        "SCMP_ARCH_SHEB"};

// libseccomp names architectures in lower case without the prefix ("x86_64"); 0 if unknown.
uint32_t arch_token(const std::string& name) {
    if (name.rfind("SCMP_ARCH_", 0) != 0) return 0;
    std::string n = name.substr(10);
    std::transform(n.begin(), n.end(), n.begin(), [](unsigned char c) { return std::tolower(c); });
    return seccomp_arch_resolve_name(n.c_str());
}

std::set<std::string> kernel_actions() {
    std::string text;
    std::set<std::string> out;
    if (!fs::try_read_file("/proc/sys/kernel/seccomp/actions_avail", text)) return out;
    size_t pos = 0;
    while (pos < text.size()) {
        size_t end = text.find_first_of(" \n", pos);
        if (end == std::string::npos) end = text.size();
        if (end > pos) out.insert(text.substr(pos, end - pos));
        pos = end + 1;
    }
    return out;
}

uint32_t action_value(const std::string& name, std::optional<uint32_t> errno_ret) {
    if (name == "SCMP_ACT_KILL" || name == "SCMP_ACT_KILL_THREAD") return SCMP_ACT_KILL_THREAD;
    if (name == "SCMP_ACT_KILL_PROCESS") return SCMP_ACT_KILL_PROCESS;
    if (name == "SCMP_ACT_TRAP") return SCMP_ACT_TRAP;
    if (name == "SCMP_ACT_ERRNO") return SCMP_ACT_ERRNO(errno_ret.value_or(EPERM));
    if (name == "SCMP_ACT_TRACE") return SCMP_ACT_TRACE(errno_ret.value_or(EPERM));
    if (name == "SCMP_ACT_ALLOW") return SCMP_ACT_ALLOW;
    if (name == "SCMP_ACT_LOG") return SCMP_ACT_LOG;
    if (name == "SCMP_ACT_NOTIFY") return SCMP_ACT_NOTIFY;
    throw Error(std::string(kField) + ": unknown seccomp action \"" + name + "\"");
}

void check_action(const std::set<std::string>& avail, const std::string& field, const std::string& name) {
    auto it = kKernelAction.find(name);
    if (it == kKernelAction.end()) throw Error(field + ": unknown seccomp action \"" + name + "\"");
    if (!avail.empty() && !avail.count(it->second))
        throw Error(field + ": seccomp action " + name + " is not supported by this kernel");
}

using Filter = std::unique_ptr<void, void (*)(scmp_filter_ctx)>;

void check_rc(int rc, const std::string& what) {
    if (rc < 0) throw_errno(what, -rc);
}

// Adds one syscalls[] entry; `newest` gets the highest native syscall number it names.
void add_rule(scmp_filter_ctx ctx, uint32_t default_action, const spec::SeccompSyscall& call,
              const std::string& field, int& newest) {
    uint32_t action = action_value(call.action, call.errno_ret);
    // libseccomp refuses a rule that repeats the default action; it would change nothing.
    if (action == default_action) {
        for (const auto& name : call.names) newest = std::max(newest, seccomp_syscall_resolve_name(name.c_str()));
        return;
    }
    std::vector<scmp_arg_cmp> conds;
    std::set<uint32_t> indexes;
    bool repeated = false;
    for (const auto& a : call.args) {
        conds.push_back(scmp_arg_cmp{a.index, kOperators.at(a.op), a.value, a.value_two});
        repeated = repeated || !indexes.insert(a.index).second;
    }
    for (const auto& name : call.names) {
        int nr = seccomp_syscall_resolve_name(name.c_str());
        if (nr == __NR_SCMP_ERROR) {
            // Profiles list syscalls of newer kernels and other architectures; runc skips them too.
            log::debug(field + ": syscall \"" + name + "\" is unknown to libseccomp, skipped");
            continue;
        }
        newest = std::max(newest, nr);  // negative: a pseudo number, not on this architecture
        // Conditions on distinct arguments must all hold; several on the same argument are
        // alternatives (libseccomp cannot AND them), so each becomes a rule of its own.
        if (!repeated) {
            check_rc(seccomp_rule_add_array(ctx, action, nr, conds.size(), conds.data()),
                     field + ": add rule for " + name);
        } else {
            for (const auto& c : conds)
                check_rc(seccomp_rule_add_array(ctx, action, nr, 1, &c), field + ": add rule for " + name);
        }
    }
}

// `newest` gets the highest native syscall number the profile names (-1 if none).
Filter build(const spec::Seccomp& s, int* newest_out = nullptr) {
    uint32_t def = action_value(s.default_action, s.default_errno_ret);
    Filter ctx(seccomp_init(def), seccomp_release);
    if (!ctx) throw Error(std::string(kField) + ".defaultAction: cannot initialise a filter for " + s.default_action);
    // no_new_privs is process.noNewPrivileges' to set, not libseccomp's.
    check_rc(seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_NNP, 0), std::string(kField) + ": clear NNP attribute");
    for (size_t i = 0; i < s.architectures.size(); ++i) {
        int rc = seccomp_arch_add(ctx.get(), arch_token(s.architectures[i]));
        if (rc != -EEXIST)
            check_rc(rc, std::string(kField) + ".architectures[" + std::to_string(i) + "]: add " + s.architectures[i]);
    }
    for (size_t i = 0; i < s.flags.size(); ++i) {
        const FlagInfo& f = kFlags.at(s.flags[i]);
        check_rc(seccomp_attr_set(ctx.get(), static_cast<scmp_filter_attr>(f.attr), 1),
                 std::string(kField) + ".flags[" + std::to_string(i) + "]: set " + s.flags[i]);
    }
    int newest = -1;
    for (size_t i = 0; i < s.syscalls.size(); ++i)
        add_rule(ctx.get(), def, s.syscalls[i], std::string(kField) + ".syscalls[" + std::to_string(i) + "]", newest);
    if (newest_out) *newest_out = newest;
    return ctx;
}

// As runc: a profile that denies by default was written for the syscalls it knew, so the ones
// newer than any it names fail with ENOSYS rather than its default action. ENOSYS is what lets
// a C library fall back (clone3 to clone, faccessat2 to faccessat); EPERM makes it give up.
// libseccomp has no rule on the syscall number itself, and knows no syscall newer than itself,
// so the filter it generates gets a few instructions in front: for the native architecture, a
// number above `newest` (and below x32's range) returns ENOSYS; all else goes on to libseccomp's
// program, whose jumps are relative and so unchanged.
std::vector<sock_filter> enosys_prefix(int newest) {
    constexpr uint32_t kArchOffset = offsetof(seccomp_data, arch), kNrOffset = offsetof(seccomp_data, nr);
    constexpr uint32_t kX32Bit = 0x40000000;
    return {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, kArchOffset),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, seccomp_arch_native(), 0, 4),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, kNrOffset),
        BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, static_cast<uint32_t>(newest), 0, 2),
        BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, kX32Bit, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA)),
    };
}

bool wants_enosys_prefix(const spec::Seccomp& s, scmp_filter_ctx ctx, int newest) {
    uint32_t def = action_value(s.default_action, s.default_errno_ret);
    if (def == SCMP_ACT_ALLOW || def == SCMP_ACT_LOG || def == SCMP_ACT_ERRNO(ENOSYS)) return false;
    return newest >= 0 && seccomp_arch_exist(ctx, seccomp_arch_native()) == 0;
}

// libseccomp's program for ctx, as the kernel takes it.
std::vector<sock_filter> export_program(scmp_filter_ctx ctx) {
    UniqueFd mem(::memfd_create("husk-seccomp", MFD_CLOEXEC));
    if (!mem) throw_errno(std::string(kField) + ": memfd_create for the filter");
    check_rc(seccomp_export_bpf(ctx, mem.get()), std::string(kField) + ": generate the filter");
    off_t size = ::lseek(mem.get(), 0, SEEK_END);
    if (size < 0 || size % static_cast<off_t>(sizeof(sock_filter)) != 0)
        throw Error(std::string(kField) + ": the generated filter has an odd size");
    std::vector<sock_filter> prog(static_cast<size_t>(size) / sizeof(sock_filter));
    if (::pread(mem.get(), prog.data(), static_cast<size_t>(size), 0) != size)
        throw_errno(std::string(kField) + ": read the generated filter");
    return prog;
}

// What seccomp_load would ask of the kernel: the profile's flags, and a listener for NOTIFY.
unsigned int load_flags(const spec::Seccomp& s, bool notify) {
    unsigned int flags = 0;
    for (const auto& f : s.flags) {
        if (f == "SECCOMP_FILTER_FLAG_TSYNC") flags |= SECCOMP_FILTER_FLAG_TSYNC;
        else if (f == "SECCOMP_FILTER_FLAG_LOG") flags |= SECCOMP_FILTER_FLAG_LOG;
        else if (f == "SECCOMP_FILTER_FLAG_SPEC_ALLOW") flags |= SECCOMP_FILTER_FLAG_SPEC_ALLOW;
    }
    if (notify) {
        flags |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
        // TSYNC and a listener together: ESRCH rather than a thread id on a failed sync.
        if (flags & SECCOMP_FILTER_FLAG_TSYNC) flags |= SECCOMP_FILTER_FLAG_TSYNC_ESRCH;
    }
    return flags;
}

}  // namespace

void validate(const spec::Seccomp& s) {
    auto avail = kernel_actions();
    check_action(avail, std::string(kField) + ".defaultAction", s.default_action);
    for (size_t i = 0; i < s.syscalls.size(); ++i)
        check_action(avail, std::string(kField) + ".syscalls[" + std::to_string(i) + "].action", s.syscalls[i].action);
    // As runc: the container's process must still write (to the runtime, and its errors) once
    // the filter is in, and nobody answers a notification until the agent has the fd.
    if (s.default_action == "SCMP_ACT_NOTIFY")
        throw Error(std::string(kField) + ".defaultAction: SCMP_ACT_NOTIFY cannot be used as the default action");
    for (size_t i = 0; i < s.syscalls.size(); ++i)
        for (const auto& name : s.syscalls[i].names)
            if (s.syscalls[i].action == "SCMP_ACT_NOTIFY" && name == "write")
                throw Error(std::string(kField) + ".syscalls[" + std::to_string(i) +
                            "]: SCMP_ACT_NOTIFY cannot be used for the write syscall");
    // The spec: an errno for an action that returns none is an error, not ignored.
    auto errno_allowed = [](const std::string& action) {
        return action == "SCMP_ACT_ERRNO" || action == "SCMP_ACT_TRACE";
    };
    if (s.default_errno_ret && !errno_allowed(s.default_action))
        throw Error(std::string(kField) + ".defaultErrnoRet: " + s.default_action + " returns no errno");
    for (size_t i = 0; i < s.syscalls.size(); ++i)
        if (s.syscalls[i].errno_ret && !errno_allowed(s.syscalls[i].action))
            throw Error(std::string(kField) + ".syscalls[" + std::to_string(i) + "].errnoRet: " + s.syscalls[i].action +
                        " returns no errno");
    for (size_t i = 0; i < s.architectures.size(); ++i)
        if (arch_token(s.architectures[i]) == 0)
            throw Error(std::string(kField) + ".architectures[" + std::to_string(i) + "]: unknown architecture \"" +
                        s.architectures[i] + "\"");
    unsigned api = seccomp_api_get();
    for (size_t i = 0; i < s.flags.size(); ++i) {
        std::string field = std::string(kField) + ".flags[" + std::to_string(i) + "]";
        auto it = kFlags.find(s.flags[i]);
        if (it == kFlags.end()) throw Error(field + ": unknown seccomp flag \"" + s.flags[i] + "\"");
        if (it->second.attr < 0 || api < static_cast<unsigned>(it->second.api_level))
            throw Error(field + ": " + s.flags[i] + " is not supported by this libseccomp and kernel");
    }
    for (size_t i = 0; i < s.syscalls.size(); ++i)
        for (size_t j = 0; j < s.syscalls[i].args.size(); ++j) {
            const auto& a = s.syscalls[i].args[j];
            std::string field = std::string(kField) + ".syscalls[" + std::to_string(i) + "].args[" + std::to_string(j) + "]";
            if (a.index > 5) throw Error(field + ".index: must be between 0 and 5");
            if (!kOperators.count(a.op)) throw Error(field + ".op: unknown seccomp operator \"" + a.op + "\"");
        }
    if (!s.listener_path.empty()) {
        struct stat st;
        if (::stat(s.listener_path.c_str(), &st) != 0)
            throw_errno(std::string(kField) + ".listenerPath: " + kNoAgent + ": " + s.listener_path);
        if (!S_ISSOCK(st.st_mode))
            throw Error(std::string(kField) + ".listenerPath: " + s.listener_path + " is not a socket");
    }
    // Building catches what only libseccomp knows (a rule it cannot express) before any clone.
    build(s);
}

UniqueFd load(const spec::Seccomp& s) {
    int newest = -1;
    Filter ctx = build(s, &newest);
    bool notify = s.default_action == "SCMP_ACT_NOTIFY";
    for (const auto& c : s.syscalls) notify = notify || c.action == "SCMP_ACT_NOTIFY";
    if (wants_enosys_prefix(s, ctx.get(), newest)) {
        std::vector<sock_filter> prog = enosys_prefix(newest);
        std::vector<sock_filter> rest = export_program(ctx.get());
        prog.insert(prog.end(), rest.begin(), rest.end());
        if (prog.size() > BPF_MAXINSNS) throw Error(std::string(kField) + ": the filter is too long for the kernel");
        sock_fprog fprog{static_cast<unsigned short>(prog.size()), prog.data()};
        long rc = ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, load_flags(s, notify), &fprog);
        if (rc < 0) throw_errno(std::string(kField) + ": load filter");
        // With a listener the kernel returned its fd, close-on-exec.
        return notify ? UniqueFd(static_cast<int>(rc)) : UniqueFd();
    }
    check_rc(seccomp_load(ctx.get()), std::string(kField) + ": load filter");
    if (!notify) return UniqueFd();
    // libseccomp keeps the listener fd (close-on-exec, made by the kernel) in global state and
    // never closes it itself, so it is ours to own.
    int fd = seccomp_notify_fd(ctx.get());
    if (fd < 0) throw_errno(std::string(kField) + ": get the notify listener fd", -fd);
    return UniqueFd(fd);
}

std::string process_state_message(const spec::Seccomp& s, pid_t pid, const std::string& state_json) {
    nlohmann::ordered_json m;
    m["ociVersion"] = spec::kSpecVersion;
    m["fds"] = {"seccompFd"};
    m["pid"] = pid;
    m["metadata"] = s.listener_metadata;
    m["state"] = nlohmann::ordered_json::parse(state_json);
    return m.dump();
}

void send_to_listener(const spec::Seccomp& s, int notify_fd, pid_t pid, const std::string& state_json) {
    UniqueFd sock;
    try {
        sock = unix_socket::connect(s.listener_path);
    } catch (const std::exception& e) {
        throw Error(std::string(kField) + ".listenerPath: " + kNoAgent + ": " + e.what());
    }
    try {
        unix_socket::send_fd(sock.get(), notify_fd, process_state_message(s, pid, state_json));
    } catch (const std::exception& e) {
        throw Error(std::string(kField) + ".listenerPath: " + s.listener_path + ": " + e.what());
    }
}

std::vector<std::string> supported_actions() {
    auto avail = kernel_actions();
    std::vector<std::string> out;
    for (const auto& [name, kernel] : kKernelAction)
        if (avail.count(kernel)) out.push_back(name);
    return out;
}

std::vector<std::string> supported_operators() {
    std::vector<std::string> out;
    for (const auto& [name, op] : kOperators) out.push_back(name);
    return out;
}

std::vector<std::string> supported_architectures() {
    std::vector<std::string> out;
    for (const char* a : kArchitectures)
        if (arch_token(a) != 0) out.push_back(a);
    return out;
}

std::vector<std::string> supported_flags() {
    unsigned api = seccomp_api_get();
    std::vector<std::string> out;
    for (const auto& [name, f] : kFlags)
        if (f.attr >= 0 && api >= static_cast<unsigned>(f.api_level)) out.push_back(name);
    return out;
}

}  // namespace husk::seccomp
