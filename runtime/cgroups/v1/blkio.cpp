// cgroup v1 blkio: weights (CFQ or BFQ files, whichever the kernel has) and throttling;
// per-device byte and operation counts for stats.
#include <sstream>

#include "controllers.hpp"

namespace husk::cgroups::v1 {
namespace {

const std::string kField = "linux.resources.blockIO";

bool wanted(const spec::Resources& r) { return r.block_io.has_value(); }

std::string dev(int64_t major, int64_t minor) { return std::to_string(major) + ":" + std::to_string(minor); }

// Kernels without CFQ expose the weights only as blkio.bfq.*.
std::string weight_file(const std::string& dir, const std::string& name) {
    return has(dir, "blkio." + name) || !has(dir, "blkio.bfq." + name) ? "blkio." + name : "blkio.bfq." + name;
}

void apply(const spec::Resources& r, const std::string& dir) {
    const auto& b = *r.block_io;
    if (b.weight && *b.weight) set(dir, weight_file(dir, "weight"), std::to_string(*b.weight), kField + ".weight");
    if (b.leaf_weight && *b.leaf_weight)
        set(dir, "blkio.leaf_weight", std::to_string(*b.leaf_weight), kField + ".leafWeight");
    for (size_t i = 0; i < b.weight_device.size(); ++i) {
        auto& d = b.weight_device[i];
        std::string f = kField + ".weightDevice[" + std::to_string(i) + "]";
        if (d.weight)
            set(dir, weight_file(dir, "weight_device"), dev(d.major, d.minor) + " " + std::to_string(*d.weight),
                f + ".weight");
        if (d.leaf_weight)
            set(dir, "blkio.leaf_weight_device", dev(d.major, d.minor) + " " + std::to_string(*d.leaf_weight),
                f + ".leafWeight");
    }
    auto throttle = [&](const std::vector<spec::ThrottleDevice>& v, const char* file, const char* field) {
        for (size_t i = 0; i < v.size(); ++i)
            set(dir, file, dev(v[i].major, v[i].minor) + " " + std::to_string(v[i].rate),
                kField + "." + field + "[" + std::to_string(i) + "]");
    };
    throttle(b.throttle_read_bps, "blkio.throttle.read_bps_device", "throttleReadBpsDevice");
    throttle(b.throttle_write_bps, "blkio.throttle.write_bps_device", "throttleWriteBpsDevice");
    throttle(b.throttle_read_iops, "blkio.throttle.read_iops_device", "throttleReadIOPSDevice");
    throttle(b.throttle_write_iops, "blkio.throttle.write_iops_device", "throttleWriteIOPSDevice");
}

// "8:0 Read 4096" lines; the "Total" lines are left out as runc does.
Json entries(const std::string& dir, const std::string& file) {
    Json out = Json::array();
    std::istringstream in(read(dir, file).value_or(""));
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream l(line);
        std::string devno, op;
        uint64_t value = 0;
        if (!(l >> devno >> op >> value)) continue;
        size_t colon = devno.find(':');
        if (colon == std::string::npos) continue;
        out.push_back({{"major", std::stoull(devno.substr(0, colon))},
                       {"minor", std::stoull(devno.substr(colon + 1))},
                       {"op", op},
                       {"value", value}});
    }
    return out;
}

void stats(const std::string& dir, Json& out) {
    out["blkio"] = {{"ioServiceBytesRecursive", entries(dir, "blkio.throttle.io_service_bytes_recursive")},
                    {"ioServicedRecursive", entries(dir, "blkio.throttle.io_serviced_recursive")}};
}

}  // namespace

const Controller blkio{"blkio", "linux.resources.blockIO", wanted, apply, stats};

}  // namespace husk::cgroups::v1
