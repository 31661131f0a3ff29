#include "client.hpp"

#include <cctype>

#include "common/error.hpp"
#include "common/log.hpp"

namespace husk::cgroups::systemd {
namespace {

using dbus::Message;
using dbus::Value;

// Plain literals, not std::strings: nothing of the driver may run at husk's start.
constexpr const char* kService = "org.freedesktop.systemd1";
constexpr const char* kPath = "/org/freedesktop/systemd1";
constexpr const char* kManager = "org.freedesktop.systemd1.Manager";

Message manager_call(const std::string& member, std::vector<Value> body) {
    return Message::call(kService, kPath, kManager, member, std::move(body));
}

std::string describe(const dbus::CallError& e) { return std::string(e.what()) + " (" + e.name + ")"; }

bool no_such_unit(const dbus::CallError& e) {
    return e.name == "org.freedesktop.systemd1.NoSuchUnit" || e.name == "org.freedesktop.systemd1.LoadFailed";
}

}  // namespace

namespace {

dbus::Connection connect(Client::Bus bus) {
    try {
        return bus == Client::Bus::User ? dbus::Connection::user() : dbus::Connection::system();
    } catch (const Error& e) {
        throw Error(std::string("--systemd-cgroup: ") + e.what());
    }
}

}  // namespace

Client::Client(Bus bus) : conn_(connect(bus)) {}

std::string Client::run_job(Message call, const std::string& unit, std::chrono::milliseconds timeout) {
    using Clock = dbus::Connection::Clock;
    auto deadline = Clock::now() + timeout;
    // The match goes in before the call, so the job cannot end unseen; both are sent at once.
    uint32_t match = 0;
    if (!matching_ && conn_.via_daemon()) {
        match = conn_.send(Message::call("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                                         "AddMatch",
                                         {Value::string(std::string("type='signal',sender='") + kService +
                                                        "',path='" + kPath + "',interface='" + kManager +
                                                        "',member='JobRemoved'")}));
    }
    uint32_t serial = conn_.send(std::move(call));
    if (match) conn_.await_reply(match, deadline);
    matching_ = true;
    Message reply = conn_.await_reply(serial, deadline);
    if (reply.body.empty() || reply.body[0].type() != 'o') throw Error("systemd: no job returned for unit " + unit);
    std::string job = reply.body[0].str();
    auto removed = conn_.wait_signal(
        [&](const Message& m) {
            return m.member == "JobRemoved" && m.interface == kManager && m.body.size() == 4 &&
                   m.body[1].type() == 'o' && m.body[1].str() == job;
        },
        deadline);
    if (!removed) return "";
    return removed->body[3].str();
}

void Client::start_transient(const std::string& unit, const Properties& props, std::chrono::milliseconds timeout) {
    std::string result;
    for (int attempt = 0;; ++attempt) {
        try {
            result = run_job(manager_call("StartTransientUnit", {Value::string(unit), Value::string("replace"),
                                                                  to_dbus(props), Value::array("(sa(sv))")}),
                             unit, timeout);
            break;
        } catch (const dbus::CallError& e) {
            if (e.name == "org.freedesktop.systemd1.UnitExists" && attempt > 0)
                throw Error("linux.cgroupsPath: systemd unit " + unit + " already exists (another container's?)");
            if (e.name != "org.freedesktop.systemd1.UnitExists")
                throw Error("systemd: start unit " + unit + ": " + describe(e));
            // A failed unit of that name (a container of the same name that was OOM-killed, say)
            // stays until reset; an active one stays, and the retry fails.
            log::debug("systemd: unit " + unit + " exists; resetting it and trying once more");
            reset_failed(unit);
        }
    }
    if (result == "done") return;
    if (result.empty()) {
        try {
            stop(unit, std::chrono::seconds(10));
        } catch (const std::exception& e) {
            log::warn(e.what());
        }
        throw Error("systemd: start unit " + unit + ": timed out after " +
                    std::to_string(timeout.count() / 1000) + " s waiting for its job");
    }
    reset_failed(unit);
    throw Error("systemd: start unit " + unit + ": the job ended \"" + result + "\"");
}

void Client::stop(const std::string& unit, std::chrono::milliseconds timeout) {
    std::string result;
    try {
        result = run_job(manager_call("StopUnit", {Value::string(unit), Value::string("replace")}), unit, timeout);
    } catch (const dbus::CallError& e) {
        if (!no_such_unit(e)) throw Error("systemd: stop unit " + unit + ": " + describe(e));
        result = "done";
    }
    if (result.empty()) throw Error("systemd: stop unit " + unit + ": timed out waiting for its job");
    if (result != "done") log::warn("systemd: stop unit " + unit + ": the job ended \"" + result + "\"");
    reset_failed(unit);
}

void Client::set_properties(const std::string& unit, const Properties& props) {
    if (props.empty()) return;
    try {
        conn_.call(manager_call("SetUnitProperties", {Value::string(unit), Value::boolean(true), to_dbus(props)}));
    } catch (const dbus::CallError& e) {
        throw Error("systemd: set properties of unit " + unit + ": " + describe(e));
    }
}

void Client::reset_failed(const std::string& unit) {
    try {
        conn_.call(manager_call("ResetFailedUnit", {Value::string(unit)}));
    } catch (const dbus::CallError& e) {
        if (!no_such_unit(e)) log::debug("systemd: reset unit " + unit + ": " + describe(e));
    }
}

dbus::Value Client::manager_property(const std::string& name) {
    try {
        Message reply = conn_.call(Message::call(kService, kPath, "org.freedesktop.DBus.Properties", "Get",
                                                 {Value::string(kManager), Value::string(name)}));
        if (reply.body.empty() || reply.body[0].type() != 'v') throw Error("systemd: no value for " + name);
        return reply.body[0].items()[0];
    } catch (const dbus::CallError& e) {
        throw Error("systemd: read manager property " + name + ": " + describe(e));
    }
}

unsigned Client::version() {
    Value v = manager_property("Version");
    std::string s = v.type() == 's' ? v.str() : "";
    size_t i = s.rfind('v', 0) == 0 ? 1 : 0;
    unsigned n = 0;
    for (; i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])); ++i) n = n * 10 + unsigned(s[i] - '0');
    return n;
}

}  // namespace husk::cgroups::systemd
