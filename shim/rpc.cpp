// Responder: serializes an answer and hands it to the transport the call came from.
#include "rpc.hpp"

#include <google/protobuf/message_lite.h>

#include "ttrpc_frame.hpp"

namespace husk::shim {

void Responder::ok(const google::protobuf::MessageLite& m) const {
    transport_->send(call_, stream_, ttrpc::kOk, {}, m.SerializeAsString());
}
void Responder::ok_empty() const { transport_->send(call_, stream_, ttrpc::kOk, {}, {}); }
void Responder::error(int code, const std::string& message) const {
    transport_->send(call_, stream_, code, message, {});
}

}  // namespace husk::shim
