// cgroup v2 hugetlb: hugetlb.<size>.max per huge page size.
#include "controllers.hpp"

namespace husk::cgroups::v2 {
namespace {

bool wanted(const spec::Resources& r) { return !r.hugepage_limits.empty(); }

void apply(const spec::Resources& r, const std::string& dir) { apply_hugetlb(r, dir, "max"); }

void stats(const std::string& dir, Json& out) {
    Json& h = out["hugetlb"] = Json::object();
    for (const auto& size : hugepage_sizes(dir, "max")) {
        std::string p = "hugetlb." + size + ".";
        h[size] = {{"usage", read_u64(dir, p + "current")},
                   {"max", read_u64(dir, p + "max")},
                   {"failcnt", read_keyed(dir, p + "events")["max"]}};
    }
}

}  // namespace

const Controller hugetlb{"hugetlb", "linux.resources.hugepageLimits", wanted, apply, stats};

}  // namespace husk::cgroups::v2
