// libFuzzer target: config.json as an image or a caller hands it over. Any input either parses
// or is refused with InvalidConfig; any other exception, or a crash, is a bug.
#include <cstddef>
#include <cstdint>
#include <string>

#include "spec/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string text(reinterpret_cast<const char*>(data), size);
    try {
        husk::spec::Config c = husk::spec::parse_config(text);
        // Reading back what was parsed touches every optional the parser filled.
        (void)c.linux.has_value();
    } catch (const husk::spec::InvalidConfig&) {
    }
    return 0;
}
