#include "publisher.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>

#include <cerrno>
#include <cstring>

#include "common/error.hpp"
#include "common/unix_socket.hpp"
#include "events_ttrpc.pb.h"
#include "ttrpc.pb.h"
#include "ttrpc_frame.hpp"

namespace husk::shim {
namespace {

// With the backoff below, about five minutes: long enough for containerd to restart.
constexpr int kMaxAttempts = 60;

std::string strip_unix(const std::string& a) { return a.rfind("unix://", 0) == 0 ? a.substr(7) : a; }

}  // namespace

std::string forward_request(const std::string& ns, const std::string& topic, const std::string& type_name,
                            const google::protobuf::MessageLite& event, int64_t sec, int32_t nsec) {
    containerd::services::events::ttrpc::v1::ForwardRequest fr;
    auto* env = fr.mutable_envelope();
    env->mutable_timestamp()->set_seconds(sec);
    env->mutable_timestamp()->set_nanos(nsec);
    env->set_namespace_(ns);
    env->set_topic(topic);
    env->mutable_event()->set_type_url(type_name);
    env->mutable_event()->set_value(event.SerializeAsString());
    ::ttrpc::Request req;
    req.set_service("containerd.services.events.ttrpc.v1.Events");
    req.set_method("Forward");
    req.set_payload(fr.SerializeAsString());
    return req.SerializeAsString();
}

void Publisher::publish(const std::string& topic, const std::string& type_name,
                        const google::protobuf::MessageLite& event) {
    if (address_.empty()) return;
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    queue_.push_back(Pending{0, forward_request(ns_, topic, type_name, event, ts.tv_sec, int32_t(ts.tv_nsec))});
    kick();
}

bool Publisher::connect() {
    std::string path = strip_unix(address_);
    unix_socket::Address addr;
    try {
        addr = unix_socket::address(path);
    } catch (const Error&) {
        return false;
    }
    UniqueFd s(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!s || ::connect(s.get(), addr.get(), addr.len) != 0) return false;
    sock_ = std::move(s);
    loop_.add(sock_.get(), EPOLLIN | EPOLLRDHUP, [this](uint32_t ev) { on_event(ev); });
    return true;
}

void Publisher::disconnect(bool retry) {
    if (sock_) {
        loop_.remove(sock_.get());
        sock_.reset();
    }
    out_.clear();
    in_.clear();
    // Whatever was on the wire unanswered goes again, in order; give up on an event only after
    // many tries so a containerd restart does not lose it, but a dead one does not pin memory.
    sent_ = 0;
    while (!queue_.empty() && queue_.front().attempts >= kMaxAttempts) queue_.pop_front();
    if (retry && !queue_.empty() && !retry_armed_) {
        retry_armed_ = true;
        int n = queue_.front().attempts;
        auto delay = std::chrono::milliseconds(n < 4 ? 250 << n : 5000);
        loop_.after(delay, [this] {
            retry_armed_ = false;
            kick();
        });
    }
}

void Publisher::kick() {
    if (queue_.empty()) return;
    if (!sock_ && !connect()) {
        for (auto& p : queue_) ++p.attempts;
        disconnect(true);
        return;
    }
    // One Forward in flight at a time: containerd serves each ttrpc request in its own goroutine,
    // so pipelined events could be published out of order (an exit before its start).
    if (sent_ == 0) {
        Pending& p = queue_[sent_++];
        p.stream = next_stream_;
        next_stream_ += 2;  // client streams are odd
        ++p.attempts;
        out_ += ttrpc::encode(p.stream, ttrpc::kRequest, p.request);
    }
    write_some();
}

void Publisher::write_some() {
    while (!out_.empty()) {
        ssize_t n = ::send(sock_.get(), out_.data(), out_.size(), MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EAGAIN) break;
            if (errno == EINTR) continue;
            disconnect(true);
            return;
        }
        out_.erase(0, size_t(n));
    }
    loop_.modify(sock_.get(), EPOLLIN | EPOLLRDHUP | (out_.empty() ? 0u : uint32_t(EPOLLOUT)));
}

void Publisher::on_event(uint32_t ev) {
    if (ev & EPOLLOUT) {
        write_some();
        if (!sock_) return;
    }
    if (!(ev & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP))) return;
    char buf[4096];
    ssize_t n = ::read(sock_.get(), buf, sizeof buf);
    if (n <= 0) {
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
        disconnect(true);
        return;
    }
    in_.append(buf, size_t(n));
    ttrpc::FrameReader r;
    r.feed(in_.data(), in_.size());
    ttrpc::Frame f;
    size_t consumed = 0;
    while (r.next(f) == ttrpc::FrameReader::Result::Frame) {
        consumed += ttrpc::kHeaderSize + f.payload.size();
        // Answers come in order for a single-stream-at-a-time server, but match by id anyway.
        for (size_t i = 0; i < sent_; ++i) {
            if (queue_[i].stream == f.stream) {
                queue_.erase(queue_.begin() + long(i));
                --sent_;
                break;
            }
        }
    }
    in_.erase(0, consumed);
    if (sent_ == 0) kick();
}

void Publisher::drain(int ms) {
    timespec start{}, now{};
    clock_gettime(CLOCK_MONOTONIC, &start);
    while (!queue_.empty() && sock_) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        long left = ms - ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000);
        if (left <= 0) return;
        pollfd p{sock_.get(), short(POLLIN | (out_.empty() ? 0 : POLLOUT)), 0};
        if (::poll(&p, 1, int(left)) <= 0) return;
        on_event((p.revents & POLLIN ? uint32_t(EPOLLIN) : 0u) | (p.revents & POLLOUT ? uint32_t(EPOLLOUT) : 0u) |
                 (p.revents & (POLLHUP | POLLERR) ? uint32_t(EPOLLHUP) : 0u));
    }
}

}  // namespace husk::shim
