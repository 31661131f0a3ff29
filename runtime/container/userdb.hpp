// Reads /etc/passwd-format files directly. husk is linked statically, so glibc's NSS lookups
// (getpwuid) are not available; and inside a container only its own file is meaningful anyway.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>

namespace husk::userdb {

struct Entry {
    std::string name;
    std::string home;
};

// The first entry of `text` (the contents of a passwd file) whose uid is `uid`.
std::optional<Entry> find_uid(std::string_view text, uid_t uid);
// The same, read from the file at `path`; nullopt when it cannot be read.
std::optional<Entry> lookup_uid(const std::string& path, uid_t uid);

}  // namespace husk::userdb
