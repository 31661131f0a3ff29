// A container's status (derived from the kernel, never stored) and the one place that says
// which command may act in which status, with the error each refusal gives.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace husk::container {

enum class Status { Creating, Created, Running, Paused, Stopped };

// The runtime-spec names: "creating", "created", "running", "paused", "stopped".
std::string_view to_string(Status s);
std::optional<Status> parse_status(std::string_view s);

// The commands whose precondition is a status. Flags that lift a precondition (delete
// --force, kill --all, exec --ignore-paused) are the caller's: it does not ask then.
enum class Op { Start, Kill, Delete, Pause, Resume, Exec, Update };

bool allowed(Op op, Status s);
// Throws the refusal ("cannot start container \"x\": it is running, not created") unless
// `op` is allowed in `s`.
void require(Op op, Status s, const std::string& id);

}  // namespace husk::container
