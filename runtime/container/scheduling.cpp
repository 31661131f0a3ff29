#include "scheduling.hpp"

#include <sys/personality.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <climits>
#include <cstring>
#include <cstdint>
#include <map>

#include "common/error.hpp"

namespace husk::scheduling {
namespace {

// struct sched_attr, SCHED_ATTR_SIZE_VER0; glibc 2.36 has no wrapper for sched_setattr.
struct SchedAttr {
    uint32_t size;
    uint32_t sched_policy;
    uint64_t sched_flags;
    int32_t sched_nice;
    uint32_t sched_priority;
    uint64_t sched_runtime;
    uint64_t sched_deadline;
    uint64_t sched_period;
};

const std::map<std::string, uint32_t> kPolicies = {
    {"SCHED_OTHER", 0}, {"SCHED_FIFO", 1}, {"SCHED_RR", 2}, {"SCHED_BATCH", 3},
    {"SCHED_ISO", 4},   {"SCHED_IDLE", 5}, {"SCHED_DEADLINE", 6}};

const std::map<std::string, uint64_t> kSchedFlags = {
    {"SCHED_FLAG_RESET_ON_FORK", 0x01}, {"SCHED_FLAG_RECLAIM", 0x02},     {"SCHED_FLAG_DL_OVERRUN", 0x04},
    {"SCHED_FLAG_KEEP_POLICY", 0x08},   {"SCHED_FLAG_KEEP_PARAMS", 0x10}, {"SCHED_FLAG_UTIL_CLAMP_MIN", 0x20},
    {"SCHED_FLAG_UTIL_CLAMP_MAX", 0x40}};

// <linux/ioprio.h>
constexpr int kIoprioWhoProcess = 1;
constexpr int kIoprioClassShift = 13;
const std::map<std::string, int> kIoClasses = {{"IOPRIO_CLASS_RT", 1}, {"IOPRIO_CLASS_BE", 2}, {"IOPRIO_CLASS_IDLE", 3}};

// <linux/mempolicy.h>
const std::map<std::string, int> kMemModes = {
    {"MPOL_DEFAULT", 0}, {"MPOL_PREFERRED", 1},      {"MPOL_BIND", 2},
    {"MPOL_INTERLEAVE", 3}, {"MPOL_LOCAL", 4}, {"MPOL_PREFERRED_MANY", 5}, {"MPOL_WEIGHTED_INTERLEAVE", 6}};
const std::map<std::string, int> kMemFlags = {
    {"MPOL_F_NUMA_BALANCING", 1 << 13}, {"MPOL_F_RELATIVE_NODES", 1 << 14}, {"MPOL_F_STATIC_NODES", 1 << 15}};
constexpr unsigned kMaxNodes = 1024;

// Calls `add(n)` for each number in "0-3,7".
template <typename F>
void each_in_list(const std::string& list, const std::string& field, unsigned limit, F add) {
    auto bad = [&] { throw Error(field + ": invalid list \"" + list + "\" (expected e.g. 0-3,7)"); };
    auto number = [&](const std::string& s) {
        if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos || s.size() > 9) bad();
        unsigned long v = std::stoul(s);
        if (v >= limit) throw Error(field + ": " + s + " is out of range (at most " + std::to_string(limit - 1) + ")");
        return static_cast<unsigned>(v);
    };
    size_t pos = 0;
    while (pos <= list.size()) {
        size_t end = list.find(',', pos);
        if (end == std::string::npos) end = list.size();
        std::string item = list.substr(pos, end - pos);
        size_t dash = item.find('-');
        unsigned lo = number(item.substr(0, dash));
        unsigned hi = dash == std::string::npos ? lo : number(item.substr(dash + 1));
        if (hi < lo) bad();
        for (unsigned n = lo; n <= hi; ++n) add(n);
        pos = end + 1;
    }
}

void set_affinity(const std::string& list, const std::string& field) {
    if (list.empty()) return;
    cpu_set_t set = parse_cpu_list(list, field);
    if (::sched_setaffinity(0, sizeof set, &set) != 0) throw_errno(field + ": sched_setaffinity " + list);
}

}  // namespace

cpu_set_t parse_cpu_list(const std::string& list, const std::string& field) {
    cpu_set_t set;
    CPU_ZERO(&set);
    each_in_list(list, field, CPU_SETSIZE, [&](unsigned n) { CPU_SET(n, &set); });
    return set;
}

std::vector<unsigned long> parse_node_mask(const std::string& list, const std::string& field) {
    constexpr unsigned bits = sizeof(unsigned long) * CHAR_BIT;
    std::vector<unsigned long> mask(kMaxNodes / bits, 0);
    if (!list.empty()) each_in_list(list, field, kMaxNodes, [&](unsigned n) { mask[n / bits] |= 1UL << (n % bits); });
    return mask;
}

void validate(const spec::Process& p) {
    if (p.scheduler) {
        if (!kPolicies.count(p.scheduler->policy))
            throw Error("process.scheduler.policy: unknown policy \"" + p.scheduler->policy + "\"");
        for (size_t i = 0; i < p.scheduler->flags.size(); ++i)
            if (!kSchedFlags.count(p.scheduler->flags[i]))
                throw Error("process.scheduler.flags[" + std::to_string(i) + "]: unknown flag \"" +
                            p.scheduler->flags[i] + "\"");
        if (p.scheduler->nice < -20 || p.scheduler->nice > 19)
            throw Error("process.scheduler.nice: must be between -20 and 19");
    }
    if (p.io_priority && !kIoClasses.count(p.io_priority->ioclass))
        throw Error("process.ioPriority.class: unknown class \"" + p.io_priority->ioclass + "\"");
    if (p.exec_cpu_affinity) {
        if (!p.exec_cpu_affinity->initial.empty())
            parse_cpu_list(p.exec_cpu_affinity->initial, "process.execCPUAffinity.initial");
        if (!p.exec_cpu_affinity->final_.empty())
            parse_cpu_list(p.exec_cpu_affinity->final_, "process.execCPUAffinity.final");
    }
}

void validate(const spec::Linux& l) {
    if (l.memory_policy) {
        const auto& mp = *l.memory_policy;
        auto mode = kMemModes.find(mp.mode);
        if (mode == kMemModes.end()) throw Error("linux.memoryPolicy.mode: unknown mode \"" + mp.mode + "\"");
        for (size_t i = 0; i < mp.flags.size(); ++i)
            if (!kMemFlags.count(mp.flags[i]))
                throw Error("linux.memoryPolicy.flags[" + std::to_string(i) + "]: unknown flag \"" + mp.flags[i] + "\"");
        parse_node_mask(mp.nodes, "linux.memoryPolicy.nodes");
        bool nodeless = mp.mode == "MPOL_DEFAULT" || mp.mode == "MPOL_LOCAL";
        if (nodeless && !mp.nodes.empty())
            throw Error("linux.memoryPolicy.nodes: must be empty for " + mp.mode);
        if (!nodeless && mp.mode != "MPOL_PREFERRED" && mp.nodes.empty())
            throw Error("linux.memoryPolicy.nodes: is required for " + mp.mode);
    }
}

void apply(const spec::Process& p) {
    if (p.scheduler) {
        const auto& s = *p.scheduler;
        SchedAttr a{};
        a.size = sizeof a;
        a.sched_policy = kPolicies.at(s.policy);
        for (const auto& f : s.flags) a.sched_flags |= kSchedFlags.at(f);
        a.sched_nice = s.nice;
        a.sched_priority = static_cast<uint32_t>(s.priority);
        a.sched_runtime = s.runtime;
        a.sched_deadline = s.deadline;
        a.sched_period = s.period;
        if (::syscall(SYS_sched_setattr, 0, &a, 0) != 0) throw_errno("process.scheduler: sched_setattr " + s.policy);
    }
    if (p.io_priority) {
        int prio = (kIoClasses.at(p.io_priority->ioclass) << kIoprioClassShift) | p.io_priority->priority;
        if (::syscall(SYS_ioprio_set, kIoprioWhoProcess, 0, prio) != 0)
            throw_errno("process.ioPriority: ioprio_set " + p.io_priority->ioclass + " " +
                        std::to_string(p.io_priority->priority));
    }
}

void set_initial_affinity(const spec::Process& p) {
    if (p.exec_cpu_affinity) set_affinity(p.exec_cpu_affinity->initial, "process.execCPUAffinity.initial");
}

void set_final_affinity(const spec::Process& p, bool exec) {
    if (exec && p.exec_cpu_affinity && !p.exec_cpu_affinity->final_.empty()) {
        set_affinity(p.exec_cpu_affinity->final_, "process.execCPUAffinity.final");
        return;
    }
    // The kernel narrows an all-set mask to the cpuset; a failure leaves the mask as it was.
    cpu_set_t all;
    std::memset(&all, 0xff, sizeof all);
    ::sched_setaffinity(0, sizeof all, &all);
}

void apply(const spec::Linux& l) {
    if (l.personality) {
        // Only the execution domain is set; the spec defines no flags yet.
        unsigned long domain = l.personality->domain == "LINUX32" ? PER_LINUX32 : PER_LINUX;
        if (::personality(domain) < 0) throw_errno("linux.personality: personality " + l.personality->domain);
    }
    if (l.memory_policy) {
        const auto& mp = *l.memory_policy;
        int mode = kMemModes.at(mp.mode);
        for (const auto& f : mp.flags) mode |= kMemFlags.at(f);
        std::vector<unsigned long> mask = parse_node_mask(mp.nodes, "linux.memoryPolicy.nodes");
        bool none = mp.nodes.empty();
        if (::syscall(SYS_set_mempolicy, mode, none ? nullptr : mask.data(), none ? 0UL : kMaxNodes + 1UL) != 0)
            throw_errno("linux.memoryPolicy: set_mempolicy " + mp.mode + (none ? "" : " nodes " + mp.nodes));
    }
}

std::vector<std::string> memory_policy_modes() {
    std::vector<std::string> out;
    for (const auto& [name, v] : kMemModes) out.push_back(name);
    return out;
}

std::vector<std::string> memory_policy_flags() {
    std::vector<std::string> out;
    for (const auto& [name, v] : kMemFlags) out.push_back(name);
    return out;
}

}  // namespace husk::scheduling
