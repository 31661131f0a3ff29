// cgroup v2 io: weights (io.bfq.weight takes v1's 10..1000 as is, io.weight the converted
// 1..10000) and io.max throttling; bytes and operations per device from io.stat.
#include <sstream>

#include "runtime/cgroups/convert.hpp"
#include "controllers.hpp"
#include "common/error.hpp"

namespace husk::cgroups::v2 {
namespace {

const std::string kField = "linux.resources.blockIO";

bool wanted(const spec::Resources& r) { return r.block_io.has_value(); }

std::string dev(int64_t major, int64_t minor) { return std::to_string(major) + ":" + std::to_string(minor); }

void set_weight(const std::string& dir, const std::string& prefix, uint64_t weight, const std::string& field) {
    if (has(dir, "io.bfq.weight"))
        set(dir, "io.bfq.weight", prefix + std::to_string(weight), field);
    else
        set(dir, "io.weight", prefix + std::to_string(blkio_to_io_weight(weight)), field);
}

void apply(const spec::Resources& r, const std::string& dir) {
    const auto& b = *r.block_io;
    if (b.leaf_weight && *b.leaf_weight) throw Error(kField + ".leafWeight: cgroup v2 has no leaf weights");
    if (b.weight && *b.weight) set_weight(dir, "", *b.weight, kField + ".weight");
    for (size_t i = 0; i < b.weight_device.size(); ++i) {
        auto& d = b.weight_device[i];
        std::string f = kField + ".weightDevice[" + std::to_string(i) + "]";
        if (d.leaf_weight) throw Error(f + ".leafWeight: cgroup v2 has no leaf weights");
        if (d.weight) set_weight(dir, dev(d.major, d.minor) + " ", *d.weight, f + ".weight");
    }
    auto throttle = [&](const std::vector<spec::ThrottleDevice>& v, const char* key, const char* field) {
        for (size_t i = 0; i < v.size(); ++i)
            set(dir, "io.max", dev(v[i].major, v[i].minor) + " " + key + "=" + std::to_string(v[i].rate),
                kField + "." + field + "[" + std::to_string(i) + "]");
    };
    throttle(b.throttle_read_bps, "rbps", "throttleReadBpsDevice");
    throttle(b.throttle_write_bps, "wbps", "throttleWriteBpsDevice");
    throttle(b.throttle_read_iops, "riops", "throttleReadIOPSDevice");
    throttle(b.throttle_write_iops, "wiops", "throttleWriteIOPSDevice");
}

// io.stat: "8:0 rbytes=1 wbytes=2 rios=3 wios=4 ..." per device, in runc's v1 entry shape.
void stats(const std::string& dir, Json& out) {
    Json bytes = Json::array(), ios = Json::array();
    std::istringstream in(read(dir, "io.stat").value_or(""));
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream l(line);
        std::string devno, kv;
        if (!(l >> devno)) continue;
        size_t colon = devno.find(':');
        if (colon == std::string::npos) continue;
        uint64_t major = std::stoull(devno.substr(0, colon)), minor = std::stoull(devno.substr(colon + 1));
        while (l >> kv) {
            size_t eq = kv.find('=');
            if (eq == std::string::npos) continue;
            std::string k = kv.substr(0, eq);
            uint64_t v = std::stoull(kv.substr(eq + 1));
            Json e = {{"major", major}, {"minor", minor}, {"value", v}};
            if (k == "rbytes" || k == "wbytes") {
                e["op"] = k == "rbytes" ? "Read" : "Write";
                bytes.push_back(e);
            } else if (k == "rios" || k == "wios") {
                e["op"] = k == "rios" ? "Read" : "Write";
                ios.push_back(e);
            }
        }
    }
    out["blkio"] = {{"ioServiceBytesRecursive", bytes}, {"ioServicedRecursive", ios}};
}

}  // namespace

const Controller io{"io", "linux.resources.blockIO", wanted, apply, stats};

}  // namespace husk::cgroups::v2
