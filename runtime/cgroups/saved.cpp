#include "manager.hpp"

namespace husk::cgroups {

Manager Manager::restore(const nlohmann::json& saved) {
    Manager m;
    if (!saved.is_object()) return m;  // a container without cgroups (rootless)
    std::string layout = saved.value("layout", "v2");
    m.layout_ = layout == "v1" ? Layout::V1 : layout == "hybrid" ? Layout::Hybrid : Layout::V2;
    m.path_ = saved.value("path", "");
    for (auto& h : saved.value("hierarchies", nlohmann::json::array()))
        m.hierarchies_.push_back({h.value("controllers", ""), h.value("mountpoint", ""), h.value("dir", ""),
                                  h.value("created", false)});
    if (auto sd = saved.find("systemd"); sd != saved.end() && sd->is_object()) {
        m.unit_ = sd->value("unit", "");
        m.slice_ = sd->value("slice", "");
        m.user_manager_ = sd->value("manager", "system") == "user";
        m.unit_started_ = sd->value("started", false);
    }
    return m;
}

nlohmann::json Manager::save() const {
    nlohmann::json j;
    j["layout"] = layout_name(layout_);
    j["path"] = path_;
    j["hierarchies"] = nlohmann::json::array();
    for (auto& h : hierarchies_)
        j["hierarchies"].push_back(
            {{"controllers", h.controllers}, {"mountpoint", h.mountpoint}, {"dir", h.dir}, {"created", h.created}});
    if (uses_systemd())
        j["systemd"] = {{"unit", unit_}, {"slice", slice_}, {"manager", user_manager_ ? "user" : "system"},
                        {"started", unit_started_}};
    return j;
}

}  // namespace husk::cgroups
