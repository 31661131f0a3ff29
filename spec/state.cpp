#include "state.hpp"

#include <nlohmann/json.hpp>

#include "config.hpp"

namespace husk::spec {
namespace {

nlohmann::ordered_json base(const State& s) {
    nlohmann::ordered_json j;
    j["ociVersion"] = kSpecVersion;
    j["id"] = s.id;
    j["pid"] = s.status == "stopped" ? 0 : s.pid;
    j["status"] = s.status;
    j["bundle"] = s.bundle;
    return j;
}

}  // namespace

std::string state_to_oci_json(const State& s) {
    auto j = base(s);
    if (!s.annotations.empty()) j["annotations"] = s.annotations;
    return j.dump();
}

std::string state_to_runc_json(const State& s) {
    auto j = base(s);
    j["rootfs"] = s.rootfs;
    j["created"] = s.created;
    j["owner"] = s.owner;
    if (!s.annotations.empty()) j["annotations"] = s.annotations;
    return j.dump(2);
}

}  // namespace husk::spec
