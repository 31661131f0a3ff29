#include "runtime/container/sync.hpp"

#include <sys/socket.h>

#include <cerrno>

#include "common/error.hpp"
#include "common/unix_socket.hpp"

namespace husk::sync {

void send(int sock, Msg type, const std::string& text, int fd, const std::string& what) {
    std::string m(1, static_cast<char>(type));
    m += text;
    if (fd >= 0) {
        try {
            unix_socket::send_fd(sock, fd, m);
        } catch (const std::exception& e) {
            throw husk::Error(what + ": " + e.what());
        }
        return;
    }
    while (::send(sock, m.data(), m.size(), MSG_NOSIGNAL) < 0)
        if (errno != EINTR) throw_errno(what);
}

bool send_quietly(int sock, Msg type, const std::string& text) noexcept {
    try {
        std::string m(1, static_cast<char>(type));
        m += text;
        ssize_t n;
        while ((n = ::send(sock, m.data(), m.size(), MSG_NOSIGNAL)) < 0 && errno == EINTR) {
        }
        return n >= 0;
    } catch (...) {
        return false;
    }
}

Message recv(int sock, const std::string& what) {
    Message m;
    std::string buf;
    try {
        m.fd = unix_socket::recv_fd(sock, &buf);
    } catch (const std::exception& e) {
        throw husk::Error(what + ": " + e.what());
    }
    if (buf.empty()) return m;
    m.type = static_cast<Msg>(buf[0]);
    m.text = buf.substr(1);
    return m;
}

}  // namespace husk::sync
