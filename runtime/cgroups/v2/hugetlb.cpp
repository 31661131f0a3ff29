// cgroup v2 hugetlb: hugetlb.<size>.max per huge page size.
#include "controllers.hpp"

namespace husk::cgroups::v2 {
namespace {

bool wanted(const spec::Resources& r) { return !r.hugepage_limits.empty(); }

void apply(const spec::Resources& r, const std::string& dir) {
    for (size_t i = 0; i < r.hugepage_limits.size(); ++i) {
        auto& h = r.hugepage_limits[i];
        set(dir, "hugetlb." + h.page_size + ".max", std::to_string(h.limit),
            "linux.resources.hugepageLimits[" + std::to_string(i) + "]");
    }
}

void stats(const std::string& dir, Json& out) {
    Json& h = out["hugetlb"];
    h = Json::object();
    for (const char* size : {"64KB", "2MB", "32MB", "512MB", "1GB", "16GB"}) {
        std::string p = std::string("hugetlb.") + size + ".";
        if (!has(dir, p + "max")) continue;
        h[size] = {{"usage", read_u64(dir, p + "current")},
                   {"max", read_u64(dir, p + "max")},
                   {"failcnt", read_keyed(dir, p + "events")["max"]}};
    }
}

}  // namespace

const Controller hugetlb{"hugetlb", "linux.resources.hugepageLimits", wanted, apply, stats};

}  // namespace husk::cgroups::v2
