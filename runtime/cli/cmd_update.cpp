// update: change the cgroup resources of a created, running or paused container, from runc's
// flags or from a LinuxResources JSON (-r FILE, or - for stdin).
#include <cmath>
#include <regex>

#include <nlohmann/json.hpp>

#include "args.hpp"
#include "commands.hpp"
#include "spec/config.hpp"
#include "runtime/container/handle.hpp"
#include "common/error.hpp"
#include "common/fs.hpp"

namespace husk::cli {
namespace {

// runc's RAMInBytes: "512m", "1.5g", "100KiB", "1024" (binary units); "-1" is unlimited.
int64_t parse_size(const std::string& flag, const std::string& v) {
    if (v == "-1") return -1;
    static const std::regex re(R"(^(\d+(?:\.\d+)?) *([kKmMgGtTpP])?(?:[iI]?[bB])?$)");
    std::smatch m;
    if (!std::regex_match(v, m, re)) throw Error("--" + flag + ": invalid size \"" + v + "\"");
    double n = std::stod(m[1].str());
    static const std::string units = "kmgtp";
    if (m[2].matched) n *= std::pow(1024.0, static_cast<double>(units.find(static_cast<char>(std::tolower(m[2].str()[0]))) + 1));
    if (n > 9.2e18) throw Error("--" + flag + ": \"" + v + "\" is too large");
    return static_cast<int64_t>(n);
}

int64_t parse_int(const std::string& flag, const std::string& v) {
    try {
        size_t used = 0;
        long long n = std::stoll(v, &used);
        if (used == v.size()) return n;
    } catch (const std::exception&) {
    }
    throw Error("--" + flag + ": invalid number \"" + v + "\"");
}

uint64_t parse_uint(const std::string& flag, const std::string& v) {
    int64_t n = parse_int(flag, v);
    if (n < 0) throw Error("--" + flag + ": must not be negative, got " + v);
    return static_cast<uint64_t>(n);
}

struct Flags {
    std::string resources, blkio_weight, cpu_period, cpu_quota, cpu_burst, cpu_shares, cpu_rt_period, cpu_rt_runtime,
        cpuset_cpus, cpuset_mems, cpu_idle, kernel_memory, kernel_memory_tcp, memory, memory_reservation, memory_swap,
        pids_limit;
};

spec::Resources from_flags(const Flags& f) {
    spec::Resources r;
    auto mem = [&]() -> spec::MemoryResources& {
        if (!r.memory) r.memory.emplace();
        return *r.memory;
    };
    auto cpu = [&]() -> spec::CpuResources& {
        if (!r.cpu) r.cpu.emplace();
        return *r.cpu;
    };
    if (!f.memory.empty()) mem().limit = parse_size("memory", f.memory);
    if (!f.memory_swap.empty()) mem().swap = parse_size("memory-swap", f.memory_swap);
    if (!f.memory_reservation.empty()) mem().reservation = parse_size("memory-reservation", f.memory_reservation);
    if (!f.kernel_memory.empty()) mem().kernel = parse_size("kernel-memory", f.kernel_memory);
    if (!f.kernel_memory_tcp.empty()) mem().kernel_tcp = parse_size("kernel-memory-tcp", f.kernel_memory_tcp);
    if (!f.cpu_shares.empty()) cpu().shares = parse_uint("cpu-share", f.cpu_shares);
    if (!f.cpu_quota.empty()) cpu().quota = parse_int("cpu-quota", f.cpu_quota);
    if (!f.cpu_period.empty()) cpu().period = parse_uint("cpu-period", f.cpu_period);
    if (!f.cpu_burst.empty()) cpu().burst = static_cast<int64_t>(parse_uint("cpu-burst", f.cpu_burst));
    if (!f.cpu_rt_period.empty()) cpu().realtime_period = parse_uint("cpu-rt-period", f.cpu_rt_period);
    if (!f.cpu_rt_runtime.empty()) cpu().realtime_runtime = parse_int("cpu-rt-runtime", f.cpu_rt_runtime);
    if (!f.cpuset_cpus.empty()) cpu().cpus = f.cpuset_cpus;
    if (!f.cpuset_mems.empty()) cpu().mems = f.cpuset_mems;
    if (!f.cpu_idle.empty()) cpu().idle = parse_int("cpu-idle", f.cpu_idle);
    if (!f.pids_limit.empty()) r.pids_limit = parse_int("pids-limit", f.pids_limit);
    if (!f.blkio_weight.empty()) {
        uint64_t w = parse_uint("blkio-weight", f.blkio_weight);
        if (w > 1000) throw Error("--blkio-weight: must be between 10 and 1000, got " + f.blkio_weight);
        r.block_io.emplace().weight = static_cast<uint16_t>(w);
    }
    return r;
}

}  // namespace

int cmd_update(const Globals& g, std::vector<std::string> argv) {
    Flags f;
    Args a(std::move(argv));
    a.value({"resources", "r"}, &f.resources, "FILE",
            "a LinuxResources JSON (- for stdin); the other flags are ignored");
    a.value({"blkio-weight"}, &f.blkio_weight, "N", "block IO weight, 10 to 1000");
    a.value({"cpu-period"}, &f.cpu_period, "US", "CPU CFS period in microseconds");
    a.value({"cpu-quota"}, &f.cpu_quota, "US", "CPU CFS quota per period in microseconds (-1: none)");
    a.value({"cpu-burst"}, &f.cpu_burst, "US", "CPU CFS burst in microseconds");
    a.value({"cpu-share", "cpu-shares"}, &f.cpu_shares, "N", "CPU shares (relative weight; cpu.weight on cgroup v2)");
    a.value({"cpu-rt-period"}, &f.cpu_rt_period, "US", "realtime period in microseconds (cgroup v1 only)");
    a.value({"cpu-rt-runtime"}, &f.cpu_rt_runtime, "US",
            "realtime runtime per period in microseconds (cgroup v1 only)");
    a.value({"cpuset-cpus"}, &f.cpuset_cpus, "LIST", "CPUs the container may use (0-3,5)");
    a.value({"cpuset-mems"}, &f.cpuset_mems, "LIST", "memory nodes the container may use (0-1)");
    a.value({"cpu-idle"}, &f.cpu_idle, "0|1", "1: schedule the container as SCHED_IDLE (cgroup v2)");
    a.value({"kernel-memory"}, &f.kernel_memory, "SIZE", "kernel memory limit (v1; ignored with a warning where none)");
    a.value({"kernel-memory-tcp"}, &f.kernel_memory_tcp, "SIZE",
            "kernel TCP buffer limit (v1; ignored with a warning where none)");
    a.value({"memory"}, &f.memory, "SIZE", "memory limit: bytes, or 512k, 64m, 1.5g (-1: none)");
    a.value({"memory-reservation"}, &f.memory_reservation, "SIZE", "memory soft limit");
    a.value({"memory-swap"}, &f.memory_swap, "SIZE", "memory plus swap limit (-1: unlimited swap)");
    a.value({"pids-limit"}, &f.pids_limit, "N", "maximum number of tasks (-1: none)");
    auto pos = a.parse();
    if (a.help())
        return print_usage(a, "update [options] CONTAINER-ID",
                           "Update the cgroup resources of a container (runc's flags, or a LinuxResources JSON).");
    expect_args("update", pos, 1, 1);
    spec::Resources r;
    if (!f.resources.empty()) {
        // As runc: the JSON replaces the flags.
        std::string text;
        bool ok = f.resources == "-" ? fs::try_read_fd(0, text) : fs::try_read_file(f.resources, text);
        if (!ok) throw_errno("--resources: read " + (f.resources == "-" ? std::string("standard input") : f.resources));
        // Device rules are create's alone: update leaves them as they are, and (as runc) does
        // not read them either, so that a rule spelled for another tool ("rwa") is no error.
        nlohmann::json j;
        try {
            j = nlohmann::json::parse(text);
        } catch (const nlohmann::json::exception& e) {
            throw Error("--resources: " + std::string(e.what()));
        }
        if (j.is_object()) j.erase("devices");
        r = spec::parse_resources(j.dump());
    } else {
        r = from_flags(f);
    }
    container::Container::load(g.root, pos[0]).update(r);
    return 0;
}

}  // namespace husk::cli
