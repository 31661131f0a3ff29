// Validation and v1 -> v2 conversions of linux.resources (see convert.hpp).
#include "convert.hpp"

#include <cctype>

#include "controller.hpp"
#include "common/error.hpp"

namespace husk::cgroups {
namespace {

const std::string kField = "linux.resources.";

void no_below_minus_one(const std::optional<int64_t>& v, const std::string& field) {
    if (v && *v < -1)
        throw Error(kField + field + ": must be -1 (unlimited), 0 (unset) or positive, got " + std::to_string(*v));
}

bool all_digits(const std::string& s) {
    if (s.empty()) return false;
    for (char c : s)
        if (!std::isdigit(static_cast<unsigned char>(c))) return false;
    return true;
}

spec::DeviceRule allow(const char* type, std::optional<int64_t> major, std::optional<int64_t> minor,
                       const char* access) {
    spec::DeviceRule r;
    r.allow = true;
    r.type = type;
    r.major = major;
    r.minor = minor;
    r.access = access;
    return r;
}

}  // namespace

void validate(const spec::Resources& r) {
    if (auto& m = r.memory) {
        no_below_minus_one(m->limit, "memory.limit");
        no_below_minus_one(m->reservation, "memory.reservation");
        no_below_minus_one(m->swap, "memory.swap");
        no_below_minus_one(m->kernel, "memory.kernel");
        no_below_minus_one(m->kernel_tcp, "memory.kernelTCP");
        if (m->limit && m->swap && *m->limit > 0 && *m->swap > 0 && *m->swap < *m->limit)
            throw Error(kField + "memory.swap: memory+swap limit " + std::to_string(*m->swap) +
                        " is below the memory limit " + std::to_string(*m->limit));
    }
    if (auto& c = r.cpu) {
        no_below_minus_one(c->quota, "cpu.quota");
        no_below_minus_one(c->realtime_runtime, "cpu.realtimeRuntime");
        if (c->burst && *c->burst < 0)
            throw Error(kField + "cpu.burst: must not be negative, got " + std::to_string(*c->burst));
        if (c->shares && *c->shares != 0 && (*c->shares < 2 || *c->shares > 262144))
            throw Error(kField + "cpu.shares: must be between 2 and 262144, got " + std::to_string(*c->shares));
        if (c->period && *c->period != 0 && (*c->period < 1000 || *c->period > 1000000))
            throw Error(kField + "cpu.period: must be between 1000 and 1000000 microseconds, got " +
                        std::to_string(*c->period));
        if (c->quota && *c->quota > 0 && *c->quota < 1000)
            throw Error(kField + "cpu.quota: must be at least 1000 microseconds or -1, got " +
                        std::to_string(*c->quota));
        if (c->idle && *c->idle != 0 && *c->idle != 1)
            throw Error(kField + "cpu.idle: must be 0 or 1, got " + std::to_string(*c->idle));
        if (!c->cpus.empty() && !valid_id_list(c->cpus))
            throw Error(kField + "cpu.cpus: \"" + c->cpus + "\" is not a cpu list such as \"0-3,5\"");
        if (!c->mems.empty() && !valid_id_list(c->mems))
            throw Error(kField + "cpu.mems: \"" + c->mems + "\" is not a memory node list such as \"0-1\"");
    }
    no_below_minus_one(r.pids_limit, "pids.limit");
    if (auto& b = r.block_io) {
        auto weight = [](const std::optional<uint16_t>& w, const std::string& field) {
            if (w && *w != 0 && (*w < 10 || *w > 1000))
                throw Error(kField + field + ": must be between 10 and 1000, got " + std::to_string(*w));
        };
        weight(b->weight, "blockIO.weight");
        weight(b->leaf_weight, "blockIO.leafWeight");
        for (size_t i = 0; i < b->weight_device.size(); ++i) {
            weight(b->weight_device[i].weight, "blockIO.weightDevice[" + std::to_string(i) + "].weight");
            weight(b->weight_device[i].leaf_weight, "blockIO.weightDevice[" + std::to_string(i) + "].leafWeight");
        }
        auto devs = [](const std::vector<spec::ThrottleDevice>& v, const std::string& field) {
            for (size_t i = 0; i < v.size(); ++i)
                if (v[i].major < 0 || v[i].minor < 0)
                    throw Error(kField + field + "[" + std::to_string(i) + "]: major and minor must not be negative");
        };
        devs(b->throttle_read_bps, "blockIO.throttleReadBpsDevice");
        devs(b->throttle_write_bps, "blockIO.throttleWriteBpsDevice");
        devs(b->throttle_read_iops, "blockIO.throttleReadIOPSDevice");
        devs(b->throttle_write_iops, "blockIO.throttleWriteIOPSDevice");
    }
    for (size_t i = 0; i < r.hugepage_limits.size(); ++i)
        if (!valid_page_size(r.hugepage_limits[i].page_size))
            throw Error(kField + "hugepageLimits[" + std::to_string(i) + "].pageSize: \"" +
                        r.hugepage_limits[i].page_size + "\" is not a size such as \"2MB\" or \"1GB\"");
    for (size_t i = 0; i < r.devices.size(); ++i) {
        auto& d = r.devices[i];
        std::string f = kField + "devices[" + std::to_string(i) + "]";
        if ((d.major && *d.major < -1) || (d.minor && *d.minor < -1))
            throw Error(f + ": major and minor must be -1 (any) or not negative");
    }
    for (auto& [key, value] : r.unified) {
        if (key.empty() || key.find('/') != std::string::npos || key == "." || key == ".." ||
            key.find('.') == std::string::npos)
            throw Error(kField + "unified." + key + ": not a cgroup interface file name");
        if (key.rfind("cgroup.", 0) == 0 && key != "cgroup.freeze" && key != "cgroup.max.depth" &&
            key != "cgroup.max.descendants")
            throw Error(kField + "unified." + key + ": husk manages this file itself");
    }
}

uint64_t shares_to_weight(uint64_t shares) {
    if (shares == 0) return 0;
    return 1 + ((shares - 2) * 9999) / 262142;
}

uint64_t blkio_to_io_weight(uint64_t weight) {
    if (weight == 0) return 0;
    return 1 + (weight - 10) * 9999 / 990;
}

int64_t swap_to_v2(int64_t swap, int64_t limit) {
    // Unlimited memory and no swap setting: unlimited swap too, as v1 would have it.
    if (limit == -1 && swap == 0) return -1;
    if (swap == -1 || swap == 0) return swap;
    if (limit <= 0)
        throw Error(kField + "memory.swap: cannot be set without a memory limit on cgroup v2");
    if (swap < limit)
        throw Error(kField + "memory.swap: memory+swap limit " + std::to_string(swap) + " is below the memory limit " +
                    std::to_string(limit));
    return swap - limit;
}

bool valid_id_list(const std::string& list) {
    for (const auto& part : split(list, ',')) {
        size_t dash = part.find('-');
        if (dash == std::string::npos) {
            if (!all_digits(part)) return false;
            continue;
        }
        std::string a = part.substr(0, dash), b = part.substr(dash + 1);
        if (!all_digits(a) || !all_digits(b) || a.size() > 9 || b.size() > 9) return false;
        if (std::stoul(a) > std::stoul(b)) return false;
    }
    return !list.empty() && list.back() != ',';
}

bool valid_page_size(const std::string& size) {
    size_t i = 0;
    while (i < size.size() && std::isdigit(static_cast<unsigned char>(size[i]))) ++i;
    if (i == 0) return false;
    std::string unit = size.substr(i);
    return unit == "KB" || unit == "MB" || unit == "GB" || unit == "TB" || unit == "PB";
}

std::string device_rule_text(const spec::DeviceRule& rule) {
    auto num = [](const std::optional<int64_t>& v) { return !v || *v == -1 ? std::string("*") : std::to_string(*v); };
    if (rule.type == "a") return "a";
    return rule.type + " " + num(rule.major) + ":" + num(rule.minor) + " " + rule.access;
}

const std::vector<spec::DeviceRule>& default_device_rules() {
    static const std::vector<spec::DeviceRule> rules = {
        allow("c", std::nullopt, std::nullopt, "m"),  // mknod of any char device
        allow("b", std::nullopt, std::nullopt, "m"),  // mknod of any block device
        allow("c", 1, 3, "rwm"),                      // /dev/null
        allow("c", 1, 8, "rwm"),                      // /dev/random
        allow("c", 1, 7, "rwm"),                      // /dev/full
        allow("c", 5, 0, "rwm"),                      // /dev/tty
        allow("c", 1, 5, "rwm"),                      // /dev/zero
        allow("c", 1, 9, "rwm"),                      // /dev/urandom
        allow("c", 136, std::nullopt, "rwm"),         // /dev/pts/*
        allow("c", 5, 2, "rwm"),                      // /dev/ptmx
        allow("c", 10, 200, "rwm"),                   // /dev/net/tun
    };
    return rules;
}

std::vector<spec::DeviceRule> effective_device_rules(const std::vector<spec::DeviceRule>& spec_rules) {
    spec::DeviceRule deny_all;
    deny_all.allow = false;
    deny_all.type = "a";
    deny_all.access = "rwm";
    std::vector<spec::DeviceRule> out{deny_all};
    out.insert(out.end(), spec_rules.begin(), spec_rules.end());
    out.insert(out.end(), default_device_rules().begin(), default_device_rules().end());
    return out;
}

}  // namespace husk::cgroups
