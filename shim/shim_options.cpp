#include "shim_options.hpp"

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "runc_options.pb.h"

namespace husk::shim {
namespace {

constexpr const char* kFile = "/husk-shim.json";

std::string base_name(const std::string& p) {
    auto s = p.find_last_of('/');
    return s == std::string::npos ? p : p.substr(s + 1);
}

}  // namespace

RuntimeConfig ShimOptions::runtime_config(const std::string& ns, const std::string& bundle) const {
    RuntimeConfig rc;
    rc.binary = binary;
    // Like containerd's runc shim (/run/containerd/runc/<ns>), one state root per runtime.
    rc.root = (root.empty() ? "/run/containerd/" + base_name(binary) : root) + "/" + ns;
    rc.log = bundle + "/log.json";
    rc.systemd_cgroup = systemd_cgroup;
    return rc;
}

ShimOptions options_from_any(const std::string& type_url, const std::string& value, const std::string& default_binary) {
    ShimOptions o;
    o.binary = default_binary;
    auto ends_with = [&](const std::string& suffix) {
        return type_url.size() >= suffix.size() && type_url.compare(type_url.size() - suffix.size(), suffix.size(), suffix) == 0;
    };
    if (ends_with("containerd.runc.v1.Options")) {
        containerd::runc::v1::Options ro;
        if (ro.ParseFromString(value)) {
            if (!ro.binary_name().empty()) o.binary = ro.binary_name();
            o.root = ro.root();
            o.systemd_cgroup = ro.systemd_cgroup();
            o.no_pivot_root = ro.no_pivot_root();
            o.io_uid = ro.io_uid();
            o.io_gid = ro.io_gid();
        }
    }
    return o;
}

void save_options(const std::string& bundle, const ShimOptions& o) {
    nlohmann::json j{{"binary", o.binary}, {"root", o.root}, {"systemd_cgroup", o.systemd_cgroup}};
    std::ofstream(bundle + kFile, std::ios::trunc) << j.dump() << "\n";
}

ShimOptions load_options(const std::string& bundle, const std::string& default_binary) {
    ShimOptions o;
    o.binary = default_binary;
    std::ifstream f(bundle + kFile);
    std::stringstream ss;
    ss << f.rdbuf();
    auto j = nlohmann::json::parse(ss.str(), nullptr, false);
    if (j.is_object()) {
        o.binary = j.value("binary", default_binary);
        o.root = j.value("root", "");
        o.systemd_cgroup = j.value("systemd_cgroup", false);
    }
    return o;
}

}  // namespace husk::shim
