// The runtime-spec mount option table, option by option.
#include <doctest/doctest.h>
#include <linux/mount.h>
#include <sys/mount.h>

#include "runtime/container/mounts.hpp"

using husk::mounts::parse;

TEST_CASE("bind, rbind and read-only") {
    auto o = parse({"rbind", "ro"});
    CHECK(o.bind);
    CHECK(o.recursive);
    CHECK(o.readonly);
    CHECK(parse({"bind"}).recursive == false);
    CHECK(parse({"ro", "rw"}).readonly == false);
}

TEST_CASE("per-mount flags set and clear, last one wins") {
    auto o = parse({"nosuid", "nodev", "noexec", "nosymfollow", "nodiratime"});
    CHECK(o.attr_set == (MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC | MOUNT_ATTR_NOSYMFOLLOW |
                         MOUNT_ATTR_NODIRATIME));
    auto back = parse({"nosuid", "suid", "dev", "exec"});
    CHECK((back.attr_set & MOUNT_ATTR_NOSUID) == 0);
    CHECK(back.attr_clr == (MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC));
}

TEST_CASE("atime options replace each other") {
    auto o = parse({"noatime", "strictatime"});
    CHECK((o.attr_set & MOUNT_ATTR__ATIME) == MOUNT_ATTR_STRICTATIME);
    CHECK((o.attr_clr & MOUNT_ATTR__ATIME) == MOUNT_ATTR__ATIME);
    CHECK((parse({"relatime"}).attr_set & MOUNT_ATTR__ATIME) == MOUNT_ATTR_RELATIME);
    CHECK((parse({"norelatime"}).attr_set & MOUNT_ATTR__ATIME) == MOUNT_ATTR_STRICTATIME);
}

TEST_CASE("recursive r* options go to the recursive set") {
    auto o = parse({"rro", "rnosuid", "rnoexec", "rnoatime"});
    CHECK(o.rec_attr_set == (MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC | MOUNT_ATTR_NOATIME));
    CHECK(o.attr_set == 0);
    CHECK(parse({"rrw", "rdev", "rsuid"}).rec_attr_clr == (MOUNT_ATTR_RDONLY | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOSUID));
}

TEST_CASE("propagation options keep their order and recursion") {
    auto o = parse({"rprivate", "shared", "rslave", "unbindable"});
    REQUIRE(o.propagation.size() == 4);
    CHECK(o.propagation[0] == (MS_PRIVATE | MS_REC));
    CHECK(o.propagation[1] == MS_SHARED);
    CHECK(o.propagation[2] == (MS_SLAVE | MS_REC));
    CHECK(o.propagation[3] == MS_UNBINDABLE);
}

TEST_CASE("superblock flags, ignored defaults and filesystem data") {
    auto o = parse({"sync", "dirsync", "defaults", "async", "mode=755", "size=65536k", "newinstance"});
    CHECK(o.sb_flags == std::vector<std::string>{"sync", "dirsync"});
    CHECK(o.data == std::vector<std::string>{"mode=755", "size=65536k", "newinstance"});
}

TEST_CASE("idmap, ridmap and tmpcopyup are recognised") {
    auto o = parse({"idmap", "ridmap", "tmpcopyup"});
    CHECK(o.idmap);
    CHECK(o.ridmap);
    CHECK(o.tmpcopyup);
    CHECK(o.data.empty());
}
