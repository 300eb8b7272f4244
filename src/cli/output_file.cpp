// SPDX-License-Identifier: MIT
#include "cli/output_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <random>
#include <system_error>

namespace vkattn::cli {

namespace {
[[noreturn]] void throw_errno(int err, const std::string& what) {
  throw std::system_error(err, std::generic_category(), what);
}
}  // namespace

StagedFile::StagedFile(std::filesystem::path target) : target_(std::move(target)) {
  const std::string name = target_.filename().string();
  if (name.empty() || name == "." || name == "..")
    throw_errno(EISDIR, "cannot write '" + target_.string() + "'");
  // A hidden, unique name beside the target. O_EXCL with mode 0666 lets the umask decide the
  // permissions, as for a file numpy would create.
  std::random_device rd;
  for (int attempt = 0; attempt < 16; ++attempt) {
    temp_ = target_;
    temp_.replace_filename("." + name + ".tmp-" + std::to_string(::getpid()) + "-" +
                           std::to_string(rd() % 1000000));
    fd_ = ::open(temp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd_ >= 0) return;
    if (errno != EEXIST) break;
  }
  throw_errno(errno, "cannot create output '" + target_.string() + "'");
}

StagedFile::StagedFile(StagedFile&& other) noexcept
    : target_(std::move(other.target_)),
      temp_(std::move(other.temp_)),
      fd_(other.fd_),
      committed_(other.committed_) {
  other.fd_ = -1;
  other.committed_ = true;  // the moved-from object owns nothing to discard
}

StagedFile::~StagedFile() { discard(); }

void StagedFile::discard() noexcept {
  if (committed_) return;
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  ::unlink(temp_.c_str());
  committed_ = true;
}

void StagedFile::write(std::span<const std::uint8_t> bytes) {
  const std::uint8_t* p = bytes.data();
  std::size_t left = bytes.size();
  while (left > 0) {
    const ssize_t n = ::write(fd_, p, std::min<std::size_t>(left, std::size_t{1} << 30));
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno(errno, "cannot write '" + target_.string() + "'");
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
}

void StagedFile::commit() {
  // close() can report a deferred write error (NFS, quota); it must succeed before the rename.
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) throw_errno(errno, "cannot write '" + target_.string() + "'");
  if (::rename(temp_.c_str(), target_.c_str()) != 0)
    throw_errno(errno, "cannot rename to '" + target_.string() + "'");
  committed_ = true;
}

void write_file_atomically(const std::filesystem::path& path, std::span<const std::uint8_t> bytes) {
  StagedFile f(path);
  f.write(bytes);
  f.commit();
}

}  // namespace vkattn::cli
