// ttrpc wire framing: a 10-byte big-endian header (length, stream id, type, flags) before each
// protobuf message, and a reader that cuts a byte stream into frames. Pure; no I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace husk::ttrpc {

constexpr size_t kHeaderSize = 10;
constexpr uint32_t kMaxMessage = 4u << 20;  // ttrpc's default limit, both directions

enum MessageType : uint8_t { kRequest = 1, kResponse = 2, kData = 3 };

// gRPC status codes the shim answers with.
enum Code : int {
    kOk = 0,
    kCanceled = 1,
    kUnknown = 2,
    kInvalidArgument = 3,
    kNotFound = 5,
    kAlreadyExists = 6,
    kFailedPrecondition = 9,
    kResourceExhausted = 8,
    kUnimplemented = 12,
    kInternal = 13,
};

struct Frame {
    uint32_t stream = 0;
    uint8_t type = 0;
    uint8_t flags = 0;
    std::string payload;
};

std::string encode(uint32_t stream, uint8_t type, const std::string& payload, uint8_t flags = 0);

class FrameReader {
public:
    enum class Result {
        Frame,      // `out` holds a whole frame
        NeedMore,   // feed more bytes
        Oversize,   // `out` has the header of a frame over kMaxMessage; its payload is skipped
    };
    void feed(const char* data, size_t n);
    Result next(Frame& out);

private:
    std::string buf_;
    size_t pos_ = 0;
    uint64_t skip_ = 0;  // bytes of an oversize payload still to drop
};

}  // namespace husk::ttrpc
