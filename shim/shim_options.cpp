#include "shim_options.hpp"

#include <cstdlib>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/fs.hpp"
#include "runc_options.pb.h"
#include "runtime_options.pb.h"

namespace husk::shim {
namespace {

constexpr const char* kFile = "/husk-shim.json";

std::string base_name(const std::string& p) {
    auto s = p.find_last_of('/');
    return s == std::string::npos ? p : p.substr(s + 1);
}

}  // namespace

void apply_config_text(ShimOptions& o, const std::string& text) {
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        auto hash = line.find('#');
        if (hash != std::string::npos) line.resize(hash);
        auto eq = line.find('=');
        if (eq == std::string::npos) continue;
        auto trim = [](std::string s) {
            size_t a = s.find_first_not_of(" \t\r"), b = s.find_last_not_of(" \t\r");
            s = a == std::string::npos ? "" : s.substr(a, b - a + 1);
            if (s.size() >= 2 && (s.front() == '"' || s.front() == '\'') && s.back() == s.front())
                s = s.substr(1, s.size() - 2);
            return s;
        };
        std::string key = trim(line.substr(0, eq)), val = trim(line.substr(eq + 1));
        if (key == "BinaryName") o.binary = val;
        else if (key == "Root") o.root = val;
        else if (key == "SystemdCgroup") o.systemd_cgroup = val == "true";
        else if (key == "NoPivotRoot") o.no_pivot_root = val == "true";
        else if (key == "IoUid") o.io_uid = unsigned(std::strtoul(val.c_str(), nullptr, 10));
        else if (key == "IoGid") o.io_gid = unsigned(std::strtoul(val.c_str(), nullptr, 10));
        else if (key == "Protocol") o.protocol = val;
    }
}

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
    } else if (ends_with("runtimeoptions.v1.Options")) {
        runtimeoptions::v1::Options ro;
        if (ro.ParseFromString(value)) {
            std::string text = ro.config_body();
            if (text.empty() && !ro.config_path().empty()) {
                fs::try_read_file(ro.config_path(), text);
            }
            apply_config_text(o, text);
        }
    }
    return o;
}

void save_options(const std::string& bundle, const ShimOptions& o) {
    nlohmann::json j{{"binary", o.binary}, {"root", o.root}, {"systemd_cgroup", o.systemd_cgroup}};
    fs::write_file(bundle + kFile, j.dump() + "\n");
}

ShimOptions load_options(const std::string& bundle, const std::string& default_binary) {
    ShimOptions o;
    o.binary = default_binary;
    std::string text;
    fs::try_read_file(bundle + kFile, text);
    auto j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_object()) {
        o.binary = j.value("binary", default_binary);
        o.root = j.value("root", "");
        o.systemd_cgroup = j.value("systemd_cgroup", false);
    }
    return o;
}

}  // namespace husk::shim
