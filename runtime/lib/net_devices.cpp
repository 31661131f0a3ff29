#include "net_devices.hpp"

#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "error.hpp"
#include "unique_fd.hpp"

namespace husk::net_devices {
namespace {

void add_attr(std::string& msg, unsigned short type, const void* data, size_t len) {
    rtattr a{};
    a.rta_len = static_cast<unsigned short>(RTA_LENGTH(len));
    a.rta_type = type;
    msg.append(reinterpret_cast<const char*>(&a), sizeof a);
    msg.append(static_cast<const char*>(data), len);
    msg.append(RTA_ALIGN(a.rta_len) - a.rta_len, '\0');
}

// One RTM_NEWLINK on an existing link: IFLA_NET_NS_FD plus IFLA_IFNAME moves and renames it in
// one step, so the name never exists in the container under the host's name.
void move_one(int nl, int ns_fd, unsigned index, const std::string& new_name, const std::string& field) {
    std::string msg(NLMSG_LENGTH(sizeof(ifinfomsg)), '\0');
    auto* h = reinterpret_cast<nlmsghdr*>(msg.data());
    h->nlmsg_type = RTM_NEWLINK;
    h->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
    h->nlmsg_seq = 1;
    auto* ifi = static_cast<ifinfomsg*>(NLMSG_DATA(h));
    ifi->ifi_family = AF_UNSPEC;
    ifi->ifi_index = static_cast<int>(index);
    uint32_t fd = static_cast<uint32_t>(ns_fd);
    add_attr(msg, IFLA_NET_NS_FD, &fd, sizeof fd);
    add_attr(msg, IFLA_IFNAME, new_name.c_str(), new_name.size() + 1);
    reinterpret_cast<nlmsghdr*>(msg.data())->nlmsg_len = static_cast<uint32_t>(msg.size());
    if (::send(nl, msg.data(), msg.size(), 0) < 0) throw_errno(field + ": netlink send");
    char buf[4096];
    ssize_t n;
    while ((n = ::recv(nl, buf, sizeof buf, 0)) < 0 && errno == EINTR) {
    }
    if (n < 0) throw_errno(field + ": netlink receive");
    auto* r = reinterpret_cast<nlmsghdr*>(buf);
    if (!NLMSG_OK(r, static_cast<unsigned>(n)) || r->nlmsg_type != NLMSG_ERROR)
        throw Error(field + ": unexpected netlink reply");
    int err = static_cast<nlmsgerr*>(NLMSG_DATA(r))->error;
    if (err != 0) throw_errno(field + ": move into the container's network namespace as " + new_name, -err);
}

}  // namespace

void validate(const spec::Linux& l) {
    if (l.net_devices.empty()) return;
    const spec::Namespace* net = l.find_namespace("network");
    if (!net || !net->path.empty())
        throw Error("linux.netDevices: the container needs a new network namespace to move devices into");
    for (const auto& [host, name] : l.net_devices) {
        std::string field = "linux.netDevices." + host;
        if (::if_nametoindex(host.c_str()) == 0) throw_errno(field + ": no such host interface");
        if (name.empty() || name.size() >= IFNAMSIZ || name == "." || name == ".." ||
            name.find_first_of("/: \t\n") != std::string::npos)
            throw Error(field + ".name: invalid interface name \"" + name + "\"");
    }
}

void move_into(const spec::Linux& l, pid_t pid) {
    if (l.net_devices.empty()) return;
    std::string ns_path = "/proc/" + std::to_string(pid) + "/ns/net";
    UniqueFd ns(::open(ns_path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!ns) throw_errno("linux.netDevices: open " + ns_path);
    UniqueFd nl(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
    if (!nl) throw_errno("linux.netDevices: netlink socket");
    for (const auto& [host, name] : l.net_devices) {
        std::string field = "linux.netDevices." + host;
        unsigned index = ::if_nametoindex(host.c_str());
        if (index == 0) throw_errno(field + ": no such host interface");
        move_one(nl.get(), ns.get(), index, name, field);
    }
}

}  // namespace husk::net_devices
