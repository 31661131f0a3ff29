#include "ttrpc_frame.hpp"

#include <algorithm>

namespace husk::ttrpc {
namespace {

void put32(std::string& s, uint32_t v) {
    s.push_back(char(v >> 24));
    s.push_back(char(v >> 16));
    s.push_back(char(v >> 8));
    s.push_back(char(v));
}

uint32_t get32(const char* p) {
    auto b = reinterpret_cast<const unsigned char*>(p);
    return uint32_t(b[0]) << 24 | uint32_t(b[1]) << 16 | uint32_t(b[2]) << 8 | b[3];
}

}  // namespace

std::string encode(uint32_t stream, uint8_t type, const std::string& payload, uint8_t flags) {
    std::string s;
    s.reserve(kHeaderSize + payload.size());
    put32(s, uint32_t(payload.size()));
    put32(s, stream);
    s.push_back(char(type));
    s.push_back(char(flags));
    s += payload;
    return s;
}

void FrameReader::feed(const char* data, size_t n) {
    if (skip_ > 0) {
        size_t drop = size_t(std::min<uint64_t>(skip_, n));
        skip_ -= drop;
        data += drop;
        n -= drop;
    }
    // Compact before growing so a long-lived connection does not keep consumed bytes.
    if (pos_ > 0 && pos_ == buf_.size()) {
        buf_.clear();
        pos_ = 0;
    } else if (pos_ > 4096 && pos_ * 2 > buf_.size()) {
        buf_.erase(0, pos_);
        pos_ = 0;
    }
    buf_.append(data, n);
}

FrameReader::Result FrameReader::next(Frame& out) {
    if (skip_ > 0 || buf_.size() - pos_ < kHeaderSize) return Result::NeedMore;
    const char* h = buf_.data() + pos_;
    uint32_t len = get32(h);
    out.stream = get32(h + 4);
    out.type = uint8_t(h[8]);
    out.flags = uint8_t(h[9]);
    if (len > kMaxMessage) {
        pos_ += kHeaderSize;
        size_t have = buf_.size() - pos_;
        size_t drop = std::min<size_t>(have, len);
        pos_ += drop;
        skip_ = len - drop;
        out.payload.clear();
        return Result::Oversize;
    }
    if (buf_.size() - pos_ - kHeaderSize < len) return Result::NeedMore;
    out.payload.assign(h + kHeaderSize, len);
    pos_ += kHeaderSize + len;
    return Result::Frame;
}

}  // namespace husk::ttrpc
