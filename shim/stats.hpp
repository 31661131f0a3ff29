// Stats for a task: reads the cgroup files of its init process and encodes containerd's
// cgroups Metrics (v1 or v2, whichever the process's cgroups are), as the runc shim does.
#pragma once

#include <string>

namespace husk::shim {

struct EncodedMetrics {
    std::string type_url;  // io.containerd.cgroups.v1.Metrics or io.containerd.cgroups.v2.Metrics
    std::string value;
};

// proc_cgroup: the text of /proc/<pid>/cgroup; root: where the hierarchies are mounted
// (/sys/fs/cgroup); proc: where procfs is (its partitions file names v1's block devices).
// Throws husk::Error when the process has no readable cgroup.
EncodedMetrics collect_metrics(const std::string& proc_cgroup, const std::string& root,
                               const std::string& proc = "/proc");

}  // namespace husk::shim
