// cgroup v1 hugetlb: a byte limit per huge page size.
#include "controllers.hpp"

namespace husk::cgroups::v1 {
namespace {

bool wanted(const spec::Resources& r) { return !r.hugepage_limits.empty(); }

void apply(const spec::Resources& r, const std::string& dir) { apply_hugetlb(r, dir, "limit_in_bytes"); }

void stats(const std::string& dir, Json& out) {
    Json& h = out["hugetlb"] = Json::object();
    for (const auto& size : hugepage_sizes(dir, "limit_in_bytes")) {
        std::string p = "hugetlb." + size + ".";
        h[size] = {{"usage", read_u64(dir, p + "usage_in_bytes")},
                   {"max", read_u64(dir, p + "max_usage_in_bytes")},
                   {"failcnt", read_u64(dir, p + "failcnt")}};
    }
}

}  // namespace

const Controller hugetlb{"hugetlb", "linux.resources.hugepageLimits", wanted, apply, stats};

}  // namespace husk::cgroups::v1
