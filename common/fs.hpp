// File helpers: whole-file reads and writes, and path resolution inside a container rootfs that
// never follows a symlink out of it (openat2 RESOLVE_IN_ROOT).
#pragma once

#include <string>
#include <string_view>

#include "unique_fd.hpp"

struct open_how;

namespace husk::fs {

// openat2(2), asked again while it answers EAGAIN: a lookup scoped with RESOLVE_IN_ROOT or
// RESOLVE_BENEATH that steps over ".." fails so whenever anything on the machine is renamed or
// mounted meanwhile. Returns the fd, or -1 with errno set.
int openat2(int dirfd, const char* path, const open_how& how);

std::string read_file(const std::string& path);
// Reads a whole file; returns false if it cannot be opened or read.
bool try_read_file(const std::string& path, std::string& out);
// Reads fd to its end (stdin, a pipe); returns false on a read error.
bool try_read_fd(int fd, std::string& out);
// Writes all of data to fd, again after EINTR and short writes; `what` names fd in the error.
void write_all(int fd, std::string_view data, const std::string& what);
void write_file(const std::string& path, std::string_view data, int flags = 0, mode_t mode = 0644);
// Writes to a file relative to dirfd (O_NOFOLLOW); for cgroup and procfs files.
void write_at(int dirfd, const std::string& name, std::string_view data);
void mkdir_all(const std::string& path, mode_t mode = 0755);
bool exists(const std::string& path);

// Lexically cleans a path: collapses //, removes ., resolves .. without leaving the top.
std::string clean(const std::string& path);
std::string join(const std::string& a, const std::string& b);

UniqueFd open_dir(const std::string& path);

// Opens `path` inside the tree at rootfd, treating rootfd as "/" for absolute symlinks and "..".
// Throws husk::Error unless `allow_missing`, in which case a missing path gives an empty fd.
UniqueFd open_in_root(int rootfd, const std::string& path, int flags, bool allow_missing = false);

// True if resolving `path` inside rootfd meets a symlink anywhere along the way.
bool has_symlink_in_root(int rootfd, const std::string& path);

enum class Kind { Directory, File };
// Creates every missing component of `path` inside rootfd (the last one as `last`), without
// following symlinks out of the root, and returns an O_PATH fd to it.
UniqueFd mkdir_all_in_root(int rootfd, const std::string& path, Kind last, mode_t mode = 0755);

// "/proc/self/fd/N": the path form of an fd for calls that take a path.
std::string fd_path(int fd);

}  // namespace husk::fs
