#include "net_devices.hpp"

#include <fcntl.h>
#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "common/error.hpp"
#include "common/unique_fd.hpp"

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

std::string request(unsigned short type, unsigned short flags, const void* body, size_t len) {
    std::string msg(NLMSG_LENGTH(len), '\0');
    auto* h = reinterpret_cast<nlmsghdr*>(msg.data());
    h->nlmsg_type = type;
    h->nlmsg_flags = static_cast<unsigned short>(NLM_F_REQUEST | flags);
    h->nlmsg_seq = 1;
    std::memcpy(NLMSG_DATA(h), body, len);
    return msg;
}

// Sends a request built by request() + add_attr() and waits for the kernel's ack.
void transact(int nl, std::string& msg, const std::string& what) {
    reinterpret_cast<nlmsghdr*>(msg.data())->nlmsg_len = static_cast<uint32_t>(msg.size());
    if (::send(nl, msg.data(), msg.size(), 0) < 0) throw_errno(what + ": netlink send");
    char buf[8192];
    ssize_t n;
    while ((n = ::recv(nl, buf, sizeof buf, 0)) < 0 && errno == EINTR) {
    }
    if (n < 0) throw_errno(what + ": netlink receive");
    auto* r = reinterpret_cast<nlmsghdr*>(buf);
    if (!NLMSG_OK(r, static_cast<unsigned>(n)) || r->nlmsg_type != NLMSG_ERROR)
        throw Error(what + ": unexpected netlink reply");
    int err = static_cast<nlmsgerr*>(NLMSG_DATA(r))->error;
    if (err != 0) throw_errno(what, -err);
}

// The interface's permanent addresses as RTM_NEWADDR bodies (ifaddrmsg + attributes), without
// the label (it carries the host name) and cache info; moving to another netns drops them.
std::vector<std::string> permanent_addresses(int nl, unsigned index, const std::string& field) {
    ifaddrmsg req{};
    req.ifa_family = AF_UNSPEC;
    std::string msg = request(RTM_GETADDR, NLM_F_DUMP, &req, sizeof req);
    reinterpret_cast<nlmsghdr*>(msg.data())->nlmsg_len = static_cast<uint32_t>(msg.size());
    if (::send(nl, msg.data(), msg.size(), 0) < 0) throw_errno(field + ": list addresses");
    std::vector<std::string> out;
    std::vector<char> buf(1 << 16);
    for (;;) {
        ssize_t n;
        while ((n = ::recv(nl, buf.data(), buf.size(), 0)) < 0 && errno == EINTR) {
        }
        if (n < 0) throw_errno(field + ": list addresses");
        unsigned len = static_cast<unsigned>(n);
        for (auto* h = reinterpret_cast<nlmsghdr*>(buf.data()); NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
            if (h->nlmsg_type == NLMSG_DONE) return out;
            if (h->nlmsg_type == NLMSG_ERROR) throw Error(field + ": list addresses: netlink error");
            if (h->nlmsg_type != RTM_NEWADDR) continue;
            auto* ifa = static_cast<ifaddrmsg*>(NLMSG_DATA(h));
            if (ifa->ifa_index != index) continue;
            uint32_t flags = ifa->ifa_flags;
            std::string body(reinterpret_cast<const char*>(ifa), sizeof *ifa);
            int alen = static_cast<int>(IFA_PAYLOAD(h));
            for (auto* a = IFA_RTA(ifa); RTA_OK(a, alen); a = RTA_NEXT(a, alen)) {
                if (a->rta_type == IFA_FLAGS) std::memcpy(&flags, RTA_DATA(a), sizeof flags);
                if (a->rta_type == IFA_LABEL || a->rta_type == IFA_CACHEINFO) continue;
                body.append(reinterpret_cast<const char*>(a), RTA_ALIGN(a->rta_len));
            }
            if (flags & IFA_F_PERMANENT) out.push_back(body);
        }
    }
}

// Runs `f` with the calling thread in the network namespace `ns_fd`, then goes back.
template <typename F>
void in_netns(int ns_fd, const std::string& field, F f) {
    UniqueFd self(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
    if (!self) throw_errno(field + ": open own network namespace");
    if (::setns(ns_fd, CLONE_NEWNET) != 0) throw_errno(field + ": enter the container's network namespace");
    try {
        f();
    } catch (...) {
        ::setns(self.get(), CLONE_NEWNET);
        throw;
    }
    if (::setns(self.get(), CLONE_NEWNET) != 0) throw_errno(field + ": return to the host network namespace");
}

bool is_up(const std::string& name) {
    UniqueFd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    ifreq ifr{};
    std::strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
    return s && ::ioctl(s.get(), SIOCGIFFLAGS, &ifr) == 0 && (ifr.ifr_flags & IFF_UP);
}

// One RTM_NEWLINK on an existing link: IFLA_NET_NS_FD plus IFLA_IFNAME moves and renames it in
// one step, so the name never exists in the container under the host's name.
void move_one(int nl, int ns_fd, unsigned index, const std::string& new_name, const std::string& field) {
    ifinfomsg ifi{};
    ifi.ifi_family = AF_UNSPEC;
    ifi.ifi_index = static_cast<int>(index);
    std::string msg = request(RTM_NEWLINK, NLM_F_ACK, &ifi, sizeof ifi);
    uint32_t fd = static_cast<uint32_t>(ns_fd);
    add_attr(msg, IFLA_NET_NS_FD, &fd, sizeof fd);
    add_attr(msg, IFLA_IFNAME, new_name.c_str(), new_name.size() + 1);
    transact(nl, msg, field + ": move into the container's network namespace as " + new_name);
}

// In the container's namespace: the addresses back, and up again if it was.
void restore(const std::string& name, const std::vector<std::string>& addresses, bool up, const std::string& field) {
    UniqueFd nl(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
    if (!nl) throw_errno(field + ": netlink socket");
    unsigned index = ::if_nametoindex(name.c_str());
    if (index == 0) throw_errno(field + ": find " + name + " in the container");
    for (const auto& body : addresses) {
        std::string msg = request(RTM_NEWADDR, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, body.data(), body.size());
        reinterpret_cast<ifaddrmsg*>(NLMSG_DATA(reinterpret_cast<nlmsghdr*>(msg.data())))->ifa_index = index;
        transact(nl.get(), msg, field + ": restore an address on " + name);
    }
    if (up) {
        ifinfomsg ifi{};
        ifi.ifi_family = AF_UNSPEC;
        ifi.ifi_index = static_cast<int>(index);
        ifi.ifi_flags = IFF_UP;
        ifi.ifi_change = IFF_UP;
        std::string msg = request(RTM_NEWLINK, NLM_F_ACK, &ifi, sizeof ifi);
        transact(nl.get(), msg, field + ": set " + name + " up");
    }
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

void bring_up_loopback() {
    // SIOCSIFFLAGS on a datagram socket: three system calls, against a netlink round trip.
    UniqueFd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!s) throw_errno("network namespace: socket to bring lo up");
    ifreq ifr{};
    std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
    if (::ioctl(s.get(), SIOCGIFFLAGS, &ifr) != 0) throw_errno("network namespace: read the flags of lo");
    if (ifr.ifr_flags & IFF_UP) return;
    ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
    if (::ioctl(s.get(), SIOCSIFFLAGS, &ifr) != 0) throw_errno("network namespace: bring lo up");
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
        // The spec asks to keep the interface's properties, its permanent addresses first.
        std::vector<std::string> addresses = permanent_addresses(nl.get(), index, field);
        bool up = is_up(host);
        move_one(nl.get(), ns.get(), index, name, field);
        in_netns(ns.get(), field, [&] { restore(name, addresses, up, field); });
    }
}

}  // namespace husk::net_devices
