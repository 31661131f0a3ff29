#include "userdb.hpp"

#include <charconv>
#include <vector>

#include "common/fs.hpp"

namespace husk::userdb {

std::optional<Entry> find_uid(std::string_view text, uid_t uid) {
    while (!text.empty()) {
        size_t end = text.find('\n');
        std::string_view line = text.substr(0, end);
        text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
        // name:password:uid:gid:gecos:home:shell
        std::vector<std::string_view> f;
        for (size_t c; (c = line.find(':')) != std::string_view::npos; line.remove_prefix(c + 1))
            f.push_back(line.substr(0, c));
        f.push_back(line);
        if (f.size() < 6) continue;
        uid_t v = 0;
        auto [p, ec] = std::from_chars(f[2].data(), f[2].data() + f[2].size(), v);
        if (ec != std::errc{} || p != f[2].data() + f[2].size() || v != uid) continue;
        return Entry{std::string(f[0]), std::string(f[5])};
    }
    return std::nullopt;
}

std::optional<Entry> lookup_uid(const std::string& path, uid_t uid) {
    std::string text;
    if (!fs::try_read_file(path, text)) return std::nullopt;
    return find_uid(text, uid);
}

}  // namespace husk::userdb
