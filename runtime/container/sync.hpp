// The messages husk exchanges with the processes it starts (create <-> container init, and
// exec <-> its helper and process): one SOCK_SEQPACKET message each, a type byte, an optional
// text and at most one fd (SCM_RIGHTS). The message types are in runtime/exec_stub/sync_msg.hpp,
// beside the freestanding exec stub (stub.cpp) that shares them: it reads Recorded and writes
// ExecFailed ("X<errno>").
#pragma once

#include <string>

#include "common/unique_fd.hpp"
#include "runtime/exec_stub/sync_msg.hpp"

namespace husk::sync {

struct Message {
    Msg type = Msg::Closed;
    std::string text;
    UniqueFd fd;  // -1 unless the sender attached one

    // The bytes as sent ("X2"), for readers of the exec stub's report.
    std::string wire() const { return std::string(1, static_cast<char>(type)) + text; }
};

// Sends one message, `fd` attached unless -1. Errors read "<what>: <errno text>".
void send(int sock, Msg type, const std::string& text = {}, int fd = -1, const std::string& what = "sync");
// A child's last word: never throws, and says whether the message went.
bool send_quietly(int sock, Msg type, const std::string& text = {}) noexcept;
// Receives one message (type Closed once the peer closed). Errors read "<what>: <cause>".
Message recv(int sock, const std::string& what = "sync");

}  // namespace husk::sync
