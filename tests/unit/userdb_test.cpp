// passwd-format lookups (husk is static, so it reads the files itself instead of NSS).
#include <doctest/doctest.h>

#include "runtime/container/userdb.hpp"

using husk::userdb::find_uid;

TEST_CASE("find_uid returns the name and home of the first entry with that uid") {
    const char* text =
        "root:x:0:0:root:/root:/bin/sh\n"
        "# not an entry\n"
        "short:x:5\n"
        "daemon:x:1:1::/usr/sbin:/usr/sbin/nologin\n"
        "alias:x:1:1::/other:/bin/sh\n"
        "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin";  // no final newline
    auto root = find_uid(text, 0);
    REQUIRE(root);
    CHECK(root->name == "root");
    CHECK(root->home == "/root");
    auto daemon = find_uid(text, 1);
    REQUIRE(daemon);
    CHECK(daemon->name == "daemon");
    CHECK(daemon->home == "/usr/sbin");
    auto nobody = find_uid(text, 65534);
    REQUIRE(nobody);
    CHECK(nobody->home == "/nonexistent");
}

TEST_CASE("find_uid ignores malformed uids and finds nothing for unknown ones") {
    CHECK_FALSE(find_uid("a:x:10x:0::/a:/bin/sh\nb:x::0::/b:/bin/sh\n", 10));
    CHECK_FALSE(find_uid("a:x:100:0::/a:/bin/sh\n", 10));
    CHECK_FALSE(find_uid("", 0));
    CHECK(find_uid("a:x:10:0::/a:/bin/sh\n", 10)->name == "a");
}
