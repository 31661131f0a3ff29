#include "ttrpc_server.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <cerrno>

#include "common/error.hpp"
#include "ttrpc.pb.h"

namespace husk::shim {

void TtrpcServer::listen(UniqueFd sock) {
    listen_ = std::move(sock);
    int fl = ::fcntl(listen_.get(), F_GETFL);
    ::fcntl(listen_.get(), F_SETFL, fl | O_NONBLOCK);
    loop_.add(listen_.get(), EPOLLIN, [this](uint32_t) {
        for (;;) {
            int c = ::accept4(listen_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
            if (c < 0) return;
            add_connection(UniqueFd(c));
        }
    });
}

void TtrpcServer::add_connection(UniqueFd conn) {
    int fl = ::fcntl(conn.get(), F_GETFL);
    ::fcntl(conn.get(), F_SETFL, fl | O_NONBLOCK);
    uint64_t id = next_id_++;
    int fd = conn.get();
    conns_[id].fd = std::move(conn);
    loop_.add(fd, EPOLLIN | EPOLLRDHUP, [this, id](uint32_t ev) {
        if (ev & EPOLLOUT) on_writable(id);
        if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP)) on_readable(id);
    });
}

void TtrpcServer::close_conn(uint64_t id) {
    auto it = conns_.find(id);
    if (it == conns_.end()) return;
    bool called = it->second.called;
    loop_.remove(it->second.fd.get());
    conns_.erase(it);
    if (!called || !on_idle_) return;
    for (const auto& [other, c] : conns_)
        if (c.called) return;
    on_idle_();
}

void TtrpcServer::on_readable(uint64_t id) {
    char buf[16384];
    for (;;) {
        auto it = conns_.find(id);
        if (it == conns_.end()) return;
        ssize_t n = ::read(it->second.fd.get(), buf, sizeof buf);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
            close_conn(id);
            return;
        }
        if (n < 0) return;
        it->second.reader.feed(buf, size_t(n));
        for (;;) {
            auto jt = conns_.find(id);
            if (jt == conns_.end()) return;
            ttrpc::Frame f;
            auto r = jt->second.reader.next(f);
            if (r == ttrpc::FrameReader::Result::NeedMore) break;
            if (r == ttrpc::FrameReader::Result::Oversize) {
                send(id, f.stream, ttrpc::kResourceExhausted,
                     "message length exceeds maximum message size of " + std::to_string(ttrpc::kMaxMessage), {});
                continue;
            }
            handle_frame(id, f);
        }
    }
}

void TtrpcServer::handle_frame(uint64_t id, const ttrpc::Frame& f) {
    if (f.type != ttrpc::kRequest) return;  // no streaming methods are served
    if (auto it = conns_.find(id); it != conns_.end()) it->second.called = true;
    ::ttrpc::Request req;
    if (!req.ParseFromString(f.payload)) {
        send(id, f.stream, ttrpc::kInvalidArgument, "malformed ttrpc request", {});
        return;
    }
    dispatch_(Call{req.service(), req.method(), req.payload()}, Responder(this, id, f.stream));
}

void TtrpcServer::send(uint64_t id, uint32_t stream, int code, const std::string& message,
                       const std::string& payload) {
    auto it = conns_.find(id);
    if (it == conns_.end()) return;
    ::ttrpc::Response resp;
    if (code != ttrpc::kOk) {
        resp.mutable_status()->set_code(code);
        resp.mutable_status()->set_message(message);
    } else {
        resp.set_payload(payload);
    }
    it->second.out += ttrpc::encode(stream, ttrpc::kResponse, resp.SerializeAsString());
    write_some(id);
}

void TtrpcServer::write_some(uint64_t id) {
    auto it = conns_.find(id);
    if (it == conns_.end()) return;
    Conn& c = it->second;
    while (!c.out.empty()) {
        ssize_t n = ::send(c.fd.get(), c.out.data(), c.out.size(), MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EAGAIN) break;
            if (errno == EINTR) continue;
            close_conn(id);
            return;
        }
        c.out.erase(0, size_t(n));
    }
    loop_.modify(c.fd.get(), EPOLLIN | EPOLLRDHUP | (c.out.empty() ? 0u : uint32_t(EPOLLOUT)));
}

void TtrpcServer::on_writable(uint64_t id) { write_some(id); }

void TtrpcServer::flush() {
    for (auto& [id, c] : conns_) {
        while (!c.out.empty()) {
            pollfd p{c.fd.get(), POLLOUT, 0};
            if (::poll(&p, 1, 1000) <= 0) break;
            ssize_t n = ::send(c.fd.get(), c.out.data(), c.out.size(), MSG_NOSIGNAL);
            if (n < 0 && errno != EAGAIN && errno != EINTR) break;
            if (n > 0) c.out.erase(0, size_t(n));
        }
    }
}

}  // namespace husk::shim
