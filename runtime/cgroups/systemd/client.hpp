// The calls husk makes to a systemd manager (org.freedesktop.systemd1) over D-Bus: transient
// units started and stopped with their jobs awaited, unit properties set, failed units reset.
#pragma once

#include <chrono>
#include <string>

#include "dbus.hpp"
#include "properties.hpp"

namespace husk::cgroups::systemd {

class Client {
public:
    enum class Bus { System, User };
    // Connects to the system manager, or to the caller's user manager (rootless).
    explicit Client(Bus bus);

    // StartTransientUnit(unit, "replace", props) and waits for its job, at most `timeout` (runc's
    // 30 s). A unit of that name that already exists is reset (a failed leftover goes) and the
    // start tried once more. On any failure nothing of the unit is left: a failed job's unit is
    // reset, one that timed out is stopped.
    void start_transient(const std::string& unit, const Properties& props,
                         std::chrono::milliseconds timeout = std::chrono::seconds(30));
    // StopUnit and wait for the job; a unit that is already gone is fine. Then ResetFailedUnit,
    // so that a unit which failed (an OOM kill) is not left behind.
    void stop(const std::string& unit, std::chrono::milliseconds timeout = std::chrono::seconds(30));
    // SetUnitProperties(unit, runtime=true, props).
    void set_properties(const std::string& unit, const Properties& props);
    // ResetFailedUnit; a unit that does not exist (or is not failed) is fine.
    void reset_failed(const std::string& unit);
    // A property of the manager itself (org.freedesktop.systemd1.Manager), e.g. ControlGroup.
    dbus::Value manager_property(const std::string& name);
    // The manager's version number ("252.38-1~deb12u1" -> 252); 0 when it does not parse.
    unsigned version();

private:
    // Sends `call` with a JobRemoved match in place first, and waits for the job it returns.
    // Returns the job's result ("done", "failed", "timeout" ...), or "" when time ran out.
    std::string run_job(dbus::Message call, const std::string& unit, std::chrono::milliseconds timeout);
    dbus::Connection conn_;
    bool matching_ = false;  // the JobRemoved match is in place
};

}  // namespace husk::cgroups::systemd
