#include "runtime/container/status.hpp"

#include "common/error.hpp"

namespace husk::container {

std::string_view to_string(Status s) {
    switch (s) {
    case Status::Creating: return "creating";
    case Status::Created: return "created";
    case Status::Running: return "running";
    case Status::Paused: return "paused";
    case Status::Stopped: return "stopped";
    }
    return "stopped";
}

std::optional<Status> parse_status(std::string_view s) {
    for (Status st : {Status::Creating, Status::Created, Status::Running, Status::Paused, Status::Stopped})
        if (to_string(st) == s) return st;
    return std::nullopt;
}

bool allowed(Op op, Status s) {
    switch (op) {
    case Op::Start: return s == Status::Created;
    case Op::Kill: return s != Status::Stopped;
    case Op::Delete: return s != Status::Running && s != Status::Paused;
    case Op::Pause: return s == Status::Running;
    case Op::Resume: return s == Status::Paused;
    case Op::Exec: return s != Status::Stopped && s != Status::Paused;
    case Op::Update: return s != Status::Stopped;
    }
    return false;
}

void require(Op op, Status s, const std::string& id) {
    if (allowed(op, s)) return;
    std::string it = "\"" + id + "\": it is " + std::string(to_string(s));
    switch (op) {
    case Op::Start: throw Error("cannot start container " + it + ", not created");
    case Op::Kill: throw Error("cannot kill container \"" + id + "\": it is not running");
    case Op::Delete: throw Error("cannot delete container " + it + " (use --force)");
    case Op::Pause: throw Error("cannot pause container " + it + ", not running");
    case Op::Resume: throw Error("cannot resume container " + it + ", not paused");
    case Op::Exec:
        // In runc's words, which its tests (and callers) look for.
        if (s == Status::Paused) throw Error("cannot exec in a paused container \"" + id + "\" (use --ignore-paused)");
        throw Error("cannot exec in container " + it);
    case Op::Update: throw Error("cannot update container " + it);
    }
}

}  // namespace husk::container
