#include "unix_socket.hpp"

#include <sys/socket.h>
#include <sys/un.h>

#include <cstddef>
#include <cstring>
#include <memory>

#include "error.hpp"

namespace husk::unix_socket {

Address address(const std::string& path) {
    Address a;
    a.sa.sun_family = AF_UNIX;
    if (path.empty() || path.size() >= sizeof a.sa.sun_path)
        throw Error("socket path is empty or too long (" + std::to_string(path.size()) + " bytes, at most " +
                    std::to_string(sizeof a.sa.sun_path - 1) + "): " + path);
    std::memcpy(a.sa.sun_path, path.data(), path.size());
    bool abstract = path[0] == '\0';
    a.len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + (abstract ? 0 : 1));
    return a;
}

UniqueFd connect(const std::string& path) {
    Address addr = address(path);
    UniqueFd s(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!s) throw_errno("socket");
    if (::connect(s.get(), addr.get(), addr.len) != 0) throw_errno("connect " + path);
    return s;
}

namespace {

// A message of one buffer with room for one fd, as sendmsg and recvmsg take it.
struct FdMessage {
    FdMessage(void* data, size_t size) : iov{data, size} {
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control;
        msg.msg_controllen = sizeof control;
    }
    FdMessage(const FdMessage&) = delete;  // msg points into it
    FdMessage& operator=(const FdMessage&) = delete;
    iovec iov;
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    msghdr msg{};
};

}  // namespace

void send_fd(int sock, int fd, const std::string& data) {
    std::string payload = data.empty() ? std::string(1, '\0') : data;
    FdMessage m(payload.data(), payload.size());
    msghdr& msg = m.msg;
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &fd, sizeof fd);
    while (::sendmsg(sock, &msg, MSG_NOSIGNAL) < 0) {
        if (errno != EINTR) throw_errno("send file descriptor");
    }
}

UniqueFd recv_fd(int sock, std::string* data) {
    // Not zero-filled: 64 KiB of memset faulted in 16 pages for messages of a few bytes.
    constexpr size_t kMax = 1 << 16;
    auto buf = std::make_unique_for_overwrite<char[]>(kMax);
    FdMessage m(buf.get(), kMax);
    msghdr& msg = m.msg;
    ssize_t n;
    while ((n = ::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC)) < 0) {
        if (errno != EINTR) throw_errno("receive file descriptor");
    }
    if (data) data->assign(buf.get(), n);
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
            int fd;
            std::memcpy(&fd, CMSG_DATA(c), sizeof fd);
            return UniqueFd(fd);
        }
    }
    return UniqueFd();
}

}  // namespace husk::unix_socket
