// Version-independent rules for linux.resources: validation of values before anything is
// written, the v1 -> v2 conversions runc uses, and the device rules every container gets.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "spec/config.hpp"

namespace husk::cgroups {

// Throws husk::Error naming the field for values no cgroup version could take: negatives other
// than -1 (unlimited), cpu/mem lists that do not parse, bad hugepage sizes, unified keys that
// are not plain file names. Called before any file is written.
void validate(const spec::Resources& r);

// cpu.shares (2..262144) -> cpu.weight (1..10000); 0 stays 0 (unset).
uint64_t shares_to_weight(uint64_t shares);
// blkio.weight (10..1000) -> io.weight (1..10000); 0 stays 0 (unset).
uint64_t blkio_to_io_weight(uint64_t weight);
// v1 memory.memsw (memory + swap) -> v2 memory.swap.max (swap alone): -1 is "max", 0 unset.
// Throws when swap is set without a memory limit or is below it.
int64_t swap_to_v2(int64_t swap, int64_t limit);
// "0-3,5": comma-separated cpu or node numbers and ranges.
bool valid_id_list(const std::string& list);
// "2MB", "1GB", "64KB".
bool valid_page_size(const std::string& size);

// "c 1:3 rwm" as devices.allow / devices.deny take it.
std::string device_rule_text(const spec::DeviceRule& rule);
// Devices runc allows in every container, after the spec's rules: mknod of any device, and
// /dev/null, zero, full, random, urandom, tty, ptmx, pts/*, net/tun.
const std::vector<spec::DeviceRule>& default_device_rules();
// What a new container's cgroup gets: deny everything, then the spec's rules in order, then
// default_device_rules(). A later rule overrides an earlier one it overlaps.
std::vector<spec::DeviceRule> effective_device_rules(const std::vector<spec::DeviceRule>& spec_rules);

}  // namespace husk::cgroups
