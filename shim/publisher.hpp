// Publishes task events to containerd over ttrpc (Events.Forward on $TTRPC_ADDRESS): queued in
// order, sent from the event loop, resent after a reconnect; never blocks the Task service.
#pragma once

#include <cstdint>
#include <deque>
#include <string>

#include "event_loop.hpp"
#include "common/unique_fd.hpp"

namespace google::protobuf {
class MessageLite;
}

namespace husk::shim {

// The Forward request frame body for one event: an Envelope with a bare type URL
// ("containerd.events.TaskExit"). Pure; unit-tested.
std::string forward_request(const std::string& ns, const std::string& topic, const std::string& type_name,
                            const google::protobuf::MessageLite& event, int64_t sec, int32_t nsec);

class Publisher {
public:
    Publisher(EventLoop& loop, std::string address, std::string ns)
        : loop_(loop), address_(std::move(address)), ns_(std::move(ns)) {}
    void publish(const std::string& topic, const std::string& type_name, const google::protobuf::MessageLite& event);
    // Tries for up to `ms` to get every queued event acknowledged; used before exiting.
    void drain(int ms);

private:
    struct Pending {
        uint32_t stream;
        std::string request;  // ttrpc.Request bytes
        int attempts = 0;
    };
    void kick();
    bool connect();
    void disconnect(bool retry);
    void on_event(uint32_t ev);
    void write_some();

    EventLoop& loop_;
    std::string address_, ns_;
    UniqueFd sock_;
    std::deque<Pending> queue_;  // sent-but-unanswered first, then unsent
    size_t sent_ = 0;            // how many at the front are on the wire
    std::string out_, in_;
    uint32_t next_stream_ = 1;
    bool retry_armed_ = false;
};

}  // namespace husk::shim
