// libFuzzer target: bytes from the shim's socket, cut into ttrpc frames. Fed in two pieces at
// a split the input chooses; every whole frame must encode back to the bytes it came from.
#include <cstddef>
#include <cstdint>
#include <string>

#include "shim/ttrpc_frame.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    size_t split = data[0] % size;
    const char* bytes = reinterpret_cast<const char*>(data + 1);
    size_t n = size - 1;
    husk::ttrpc::FrameReader reader;
    reader.feed(bytes, split < n ? split : n);
    reader.feed(bytes + (split < n ? split : n), n - (split < n ? split : n));
    size_t consumed = 0;
    husk::ttrpc::Frame f;
    for (;;) {
        auto r = reader.next(f);
        if (r == husk::ttrpc::FrameReader::Result::NeedMore) break;
        if (r == husk::ttrpc::FrameReader::Result::Oversize) break;  // the rest is the payload it skips
        std::string again = husk::ttrpc::encode(f.stream, f.type, f.payload, f.flags);
        if (consumed + again.size() > n || again.compare(0, std::string::npos, bytes + consumed, again.size()) != 0)
            __builtin_trap();
        consumed += again.size();
    }
    return 0;
}
