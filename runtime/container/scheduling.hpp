// Where and how the container process runs: process.scheduler, process.ioPriority,
// process.execCPUAffinity, linux.personality and linux.memoryPolicy.
#pragma once

#include <sched.h>

#include <string>
#include <vector>

#include "spec/config.hpp"

namespace husk::scheduling {

// Checks names and lists before anything is created; throws husk::Error naming the field.
void validate(const spec::Process& p);
void validate(const spec::Linux& l);

// "0-3,7" -> a CPU set; throws husk::Error naming `field` on bad syntax.
cpu_set_t parse_cpu_list(const std::string& list, const std::string& field);
// "0-1,3" -> a node bitmask as set_mempolicy(2) takes it, one bit per node.
std::vector<unsigned long> parse_node_mask(const std::string& list, const std::string& field);

// sched_setattr(2) and ioprio_set(2) for the calling process (need privileges: run them before
// the user switch).
void apply(const spec::Process& p);
// execCPUAffinity is for exec processes only (runtime-spec: not for init, as with runc).
// initial: where the exec helper runs before it joins the container's cgroup (no-op if empty).
void set_initial_affinity(const spec::Process& p);
// final for an exec process that has one; otherwise every CPU the cgroup's cpuset allows, so
// that a narrow mask of husk's caller is not inherited (Linux >= 6.2 keeps it across the move).
void set_final_affinity(const spec::Process& p, bool exec);
// personality(2) and set_mempolicy(2) for the calling process.
void apply(const spec::Linux& l);

// linux.memoryPolicy modes and flags this build knows, for `husk features`.
std::vector<std::string> memory_policy_modes();
std::vector<std::string> memory_policy_flags();

}  // namespace husk::scheduling
