// libFuzzer target: `husk exec -p process.json` and `husk update -r resources.json` input.
#include <cstddef>
#include <cstdint>
#include <string>

#include "spec/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string text(reinterpret_cast<const char*>(data), size);
    try {
        (void)husk::spec::parse_process(text);
    } catch (const husk::spec::InvalidConfig&) {
    }
    try {
        (void)husk::spec::parse_resources(text);
    } catch (const husk::spec::InvalidConfig&) {
    }
    return 0;
}
