// SPDX-License-Identifier: MIT
// libFuzzer target for the .npy reader (src/cli/npy.cpp) on arbitrary bytes.
//
// Contract checked: npy::parse and npy::read never crash, never read or allocate beyond what
// the input justifies (ASan), and fail only with npy::Error; any other exception escapes and
// libFuzzer reports it as a crash. Beyond "no crash", three differential properties:
//   1. read() of the same bytes from a file agrees with parse() (same array, or both throw):
//      read() has its own prefix logic (header first, data after) that parse() does not use.
//   2. A parsed array is self-consistent: data.size() == count() * item_size.
//   3. encode(parse(x)) parses back to the same array (the writer accepts what the reader
//      returns, and the round trip is lossless).
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <span>
#include <string>

#include "cli/npy.hpp"

namespace {

using vkattn::npy::Array;

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "fuzz_npy: property violated: %s\n", what);
  std::abort();
}

bool same(const Array& a, const Array& b) {
  return a.type == b.type && a.shape == b.shape && a.data == b.data;
}

std::optional<Array> try_parse(std::span<const std::uint8_t> bytes) {
  try {
    return vkattn::npy::parse(bytes);
  } catch (const vkattn::npy::Error&) {
    return std::nullopt;
  }
}

// The same bytes through the file reader. An anonymous memory file keeps it off the disk;
// /proc/self/fd/N gives read() a path, as the CLI would.
std::optional<Array> try_read(std::span<const std::uint8_t> bytes) {
  static const int fd = memfd_create("fuzz_npy", 0);
  if (fd < 0) fail("memfd_create failed");
  if (ftruncate(fd, 0) != 0 || lseek(fd, 0, SEEK_SET) != 0) fail("resetting the memfd failed");
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = write(fd, bytes.data() + done, bytes.size() - done);
    if (n <= 0) fail("writing the memfd failed");
    done += static_cast<std::size_t>(n);
  }
  static const std::string path = "/proc/self/fd/" + std::to_string(fd);
  try {
    return vkattn::npy::read(path);
  } catch (const vkattn::npy::Error&) {
    return std::nullopt;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> bytes(data, size);
  const std::optional<Array> parsed = try_parse(bytes);
  const std::optional<Array> read = try_read(bytes);
  if (parsed.has_value() != read.has_value()) fail("parse() and read() disagree on acceptance");
  if (!parsed) return 0;
  if (!same(*parsed, *read)) fail("parse() and read() return different arrays");
  if (parsed->data.size() != parsed->count() * vkattn::npy::item_size(parsed->type))
    fail("data size does not match shape * item size");

  const std::optional<Array> again = try_parse(vkattn::npy::encode(*parsed));
  if (!again) fail("encode() output does not parse");
  if (!same(*parsed, *again)) fail("encode/parse round trip changed the array");
  return 0;
}
