// SHA-256 as lowercase hex: names the shim's socket after containerd address, namespace and id
// the way containerd's own shims do. Small enough not to pull in a crypto library.
#pragma once

#include <string>

namespace husk::shim {

std::string sha256_hex(const std::string& data);

}  // namespace husk::shim
