// What the Task service sees of a transport (ttrpc or gRPC): a decoded call, and a Responder that
// answers it once, now or later, through the transport that received it.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

namespace google::protobuf {
class MessageLite;
}

namespace husk::shim {

class Transport;

// Copyable so a handler can keep it until the answer is known (Wait stays pending for a task's
// life). If the caller is gone by then, the transport drops the answer.
class Responder {
public:
    Responder(Transport* t, uint64_t call, uint32_t stream) : transport_(t), call_(call), stream_(stream) {}
    void ok(const google::protobuf::MessageLite& m) const;
    void ok_empty() const;
    void error(int code, const std::string& message) const;

private:
    Transport* transport_;
    uint64_t call_;
    uint32_t stream_;
};

struct Call {
    std::string service;
    std::string method;
    std::string payload;
};

using Dispatch = std::function<void(const Call&, const Responder&)>;

// An RPC server on the shim's event loop; every member is called on the loop's thread.
class Transport {
public:
    virtual ~Transport() = default;
    // code is a gRPC status code; payload is the serialized answer when code is 0.
    virtual void send(uint64_t call, uint32_t stream, int code, const std::string& message,
                      const std::string& payload) = 0;
    // Called when every client that made a call has gone; transports that cannot tell never call it.
    virtual void on_idle(std::function<void()> fn) = 0;
    // Delivers what is queued, blocking briefly; used just before the process exits.
    virtual void flush() = 0;
};

}  // namespace husk::shim
