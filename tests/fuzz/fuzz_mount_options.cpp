// libFuzzer target: a mount's "options" list (comma-separated here), turned into mount
// attributes. Nothing is refused here; the parse must simply never crash or misbehave.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "runtime/container/mounts.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::vector<std::string> options(1);
    for (size_t i = 0; i < size; ++i) {
        if (data[i] == ',') options.emplace_back();
        else options.back() += static_cast<char>(data[i]);
    }
    husk::mounts::Options o = husk::mounts::parse(options);
    // Every option lands somewhere: a flag, an attribute, or filesystem data.
    if (o.data.size() > options.size() || o.sb_flags.size() > options.size()) __builtin_trap();
    return 0;
}
