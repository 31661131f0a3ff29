#include "manager.hpp"

#include <fcntl.h>

#include <chrono>
#include <thread>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "controller.hpp"
#include "tree.hpp"

namespace husk::cgroups {

bool Manager::frozen_now(const Hierarchy& h) const {
    if (h.unified()) {
        // cgroup.events' frozen is the effective state: a frozen ancestor counts.
        for (const auto& line : split(read(h.dir, "cgroup.events").value_or(""), '\n'))
            if (line == "frozen 1") return true;
        return false;
    }
    bool freezer = h.controllers == "freezer" || h.controllers.rfind("freezer,", 0) == 0 ||
                   h.controllers.find(",freezer") != std::string::npos;
    return freezer && read(h.dir, "freezer.state").value_or("THAWED") != "THAWED";
}

void Manager::freeze() {
    if (const Hierarchy* f = find("freezer")) {
        fs::write_file(f->dir + "/freezer.state", "FROZEN", O_WRONLY);
        for (int i = 0; i < 1000; ++i) {
            std::string st;
            fs::try_read_file(f->dir + "/freezer.state", st);
            if (trim(st) == "FROZEN") return;
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        throw Error("freeze cgroup " + f->dir + ": timed out");
    }
    for (auto& h : hierarchies_) {
        if (!h.unified()) continue;
        fs::write_file(h.dir + "/cgroup.freeze", "1", O_WRONLY);
        for (int i = 0; i < 1000; ++i) {
            std::string ev;
            fs::try_read_file(h.dir + "/cgroup.events", ev);
            if (ev.find("frozen 1") != std::string::npos) return;
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        throw Error("freeze cgroup " + h.dir + ": timed out");
    }
    throw Error("pause: the host has no freezer cgroup");
}

void Manager::thaw() {
    if (const Hierarchy* f = find("freezer")) {
        fs::write_file(f->dir + "/freezer.state", "THAWED", O_WRONLY);
        return;
    }
    for (auto& h : hierarchies_)
        if (h.unified()) fs::write_file(h.dir + "/cgroup.freeze", "0", O_WRONLY);
}

bool Manager::frozen() const {
    std::string st;
    if (const Hierarchy* f = find("freezer")) {
        return fs::try_read_file(f->dir + "/freezer.state", st) && trim(st) != "THAWED";
    }
    for (auto& h : hierarchies_)
        if (h.unified() && fs::try_read_file(h.dir + "/cgroup.freeze", st)) return trim(st) == "1";
    return false;
}

}  // namespace husk::cgroups
