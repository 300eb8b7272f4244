// SPDX-License-Identifier: MIT
// The .npy reader and writer. Format reference: numpy/lib/format.py (NEP 1).
#include "cli/npy.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <optional>
#include <string_view>

namespace vkattn::npy {

namespace {

constexpr std::uint8_t kMagic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
constexpr std::size_t kMagicLen = 6;
constexpr std::size_t kArrayAlign = 64;    // numpy.lib.format.ARRAY_ALIGN
constexpr std::size_t kGrowthDigits = 21;  // numpy.lib.format.GROWTH_AXIS_MAX_DIGITS

[[noreturn]] void fail(const std::string& message) { throw Error(message); }

// Quotes a header fragment for a message, keeping the message on one printable line.
std::string printable(std::string_view s) {
  std::string out = "'";
  for (char c : s.substr(0, 40)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
  if (s.size() > 40) out += "...";
  return out + "'";
}

bool mul_overflows(std::uint64_t a, std::uint64_t b, std::uint64_t* out) {
  return __builtin_mul_overflow(a, b, out);
}

// Recursive-descent parser for the one Python literal numpy writes:
//   {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
// Keys and strings may use either quote; whitespace may appear between tokens; a trailing
// comma is allowed in the dict and the tuple. Anything else is an error.
class HeaderParser {
 public:
  explicit HeaderParser(std::string_view text) : s_(text) {}

  Header parse() {
    skip_ws();
    expect('{', "header is not a dict");
    std::optional<std::string> descr;
    std::optional<bool> fortran;
    std::optional<std::vector<std::int64_t>> shape;
    skip_ws();
    while (!peek('}')) {
      const std::string key = string_literal("dict key");
      skip_ws();
      expect(':', "expected ':' after key " + printable(key));
      skip_ws();
      if (key == "descr") {
        if (descr) fail("duplicate key 'descr' in header");
        descr = string_literal("'descr' value");
      } else if (key == "fortran_order") {
        if (fortran) fail("duplicate key 'fortran_order' in header");
        fortran = boolean();
      } else if (key == "shape") {
        if (shape) fail("duplicate key 'shape' in header");
        shape = tuple();
      } else {
        fail("unexpected key " + printable(key) + " in header");
      }
      skip_ws();
      if (peek(',')) {
        ++pos_;
        skip_ws();
      } else if (!peek('}')) {
        fail("expected ',' or '}' in header at byte " + std::to_string(pos_));
      }
    }
    ++pos_;  // '}'
    skip_ws();
    if (pos_ != s_.size())
      fail("unexpected text after the header dict: " + printable(s_.substr(pos_)));
    if (!descr) fail("header lacks the key 'descr'");
    if (!fortran) fail("header lacks the key 'fortran_order'");
    if (!shape) fail("header lacks the key 'shape'");
    if (*fortran) fail("fortran_order True is not supported: save a C-contiguous array");

    Header h;
    h.type = parse_descr(*descr);
    h.shape = std::move(*shape);
    return h;
  }

 private:
  static Type parse_descr(const std::string& d) {
    if (d == "<f4") return Type::f32;
    if (d == "<f2") return Type::f16;
    if (d == "|b1") return Type::boolean;
    if (d == "<i4") return Type::i32;
    if (d == "<i8") return Type::i64;
    if (!d.empty() && d[0] == '>') fail("big-endian dtype " + printable(d) + " is not supported");
    if (d == "<f8") fail("unsupported dtype '<f8' (float64): convert to float32 or float16");
    fail("unsupported dtype " + printable(d) + ": expected <f4, <f2, |b1, <i4 or <i8");
  }

  bool peek(char c) const { return pos_ < s_.size() && s_[pos_] == c; }
  void expect(char c, const std::string& message) {
    if (!peek(c)) fail(message);
    ++pos_;
  }
  void skip_ws() {
    while (pos_ < s_.size() &&
           (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r'))
      ++pos_;
  }

  std::string string_literal(const char* what) {
    if (!peek('\'') && !peek('"'))
      fail(std::string("expected a string for the ") + what + " in header");
    const char quote = s_[pos_++];
    const std::size_t start = pos_;
    while (pos_ < s_.size() && s_[pos_] != quote) {
      // Escapes never occur in the values numpy writes; refusing them keeps this simple.
      if (s_[pos_] == '\\' || s_[pos_] == '\n')
        fail(std::string("unsupported character in the ") + what);
      ++pos_;
    }
    if (pos_ == s_.size()) fail(std::string("unterminated string for the ") + what + " in header");
    return std::string(s_.substr(start, pos_++ - start));
  }

  bool boolean() {
    if (s_.substr(pos_, 4) == "True") {
      pos_ += 4;
      return true;
    }
    if (s_.substr(pos_, 5) == "False") {
      pos_ += 5;
      return false;
    }
    fail("'fortran_order' must be True or False, got " + printable(s_.substr(pos_, 10)));
  }

  std::vector<std::int64_t> tuple() {
    expect('(', "'shape' must be a tuple, got " + printable(s_.substr(pos_, 10)));
    std::vector<std::int64_t> dims;
    skip_ws();
    bool need_comma = false;  // "(3)" is an int in Python, not a tuple
    while (!peek(')')) {
      if (dims.size() == kMaxRank)
        fail("shape has more than " + std::to_string(kMaxRank) + " dimensions");
      dims.push_back(integer());
      skip_ws();
      if (peek(',')) {
        ++pos_;
        skip_ws();
        need_comma = false;
      } else if (peek(')')) {
        need_comma = dims.size() == 1;
      } else {
        fail("expected ',' or ')' in 'shape'");
      }
    }
    if (need_comma) fail("'shape' must be a tuple: a one-element shape is written '(n,)'");
    ++pos_;  // ')'
    return dims;
  }

  std::int64_t integer() {
    if (peek('-')) fail("negative dimension in 'shape'");
    const std::size_t start = pos_;
    std::uint64_t value = 0;
    while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') {
      const auto digit = static_cast<std::uint64_t>(s_[pos_] - '0');
      if (value >
          (static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) - digit) / 10)
        fail("dimension in 'shape' overflows a 64-bit integer");
      value = value * 10 + digit;
      ++pos_;
    }
    if (pos_ == start)
      fail("expected an integer in 'shape', got " + printable(s_.substr(pos_, 10)));
    if (pos_ - start > 1 && s_[start] == '0') fail("leading zero in a 'shape' dimension");
    return static_cast<std::int64_t>(value);
  }

  std::string_view s_;
  std::size_t pos_ = 0;
};

std::string errno_text(int err) { return std::strerror(err); }

// Reads exactly `n` bytes at the current offset; false on EOF.
bool read_fully(int fd, std::uint8_t* dst, std::size_t n) {
  while (n > 0) {
    const ssize_t got = ::read(fd, dst, std::min<std::size_t>(n, std::size_t{1} << 30));
    if (got < 0) {
      if (errno == EINTR) continue;
      fail("read failed: " + errno_text(errno));
    }
    if (got == 0) return false;
    dst += got;
    n -= static_cast<std::size_t>(got);
  }
  return true;
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  [[nodiscard]] int get() const { return fd_; }

 private:
  int fd_;
};

}  // namespace

std::size_t item_size(Type t) noexcept {
  switch (t) {
    case Type::f32: return 4;
    case Type::f16: return 2;
    case Type::boolean: return 1;
    case Type::i32: return 4;
    case Type::i64: return 8;
  }
  return 1;
}

const char* descr(Type t) noexcept {
  switch (t) {
    case Type::f32: return "<f4";
    case Type::f16: return "<f2";
    case Type::boolean: return "|b1";
    case Type::i32: return "<i4";
    case Type::i64: return "<i8";
  }
  return "?";
}

const char* type_name(Type t) noexcept {
  switch (t) {
    case Type::f32: return "float32";
    case Type::f16: return "float16";
    case Type::boolean: return "bool";
    case Type::i32: return "int32";
    case Type::i64: return "int64";
  }
  return "?";
}

std::size_t Array::count() const noexcept {
  std::size_t n = 1;
  for (auto d : shape) n *= static_cast<std::size_t>(d);
  return n;
}

Header parse_header(std::span<const std::uint8_t> prefix, std::uint64_t file_size) {
  if (file_size < kMagicLen + 2 || prefix.size() < kMagicLen + 2 ||
      !std::equal(kMagic, kMagic + kMagicLen, prefix.begin()))
    fail("not an .npy file (bad magic)");
  Header h;
  const std::uint8_t major = prefix[6];
  const std::uint8_t minor = prefix[7];
  if (major < 1 || major > 3 || minor != 0)
    fail("unsupported .npy format version " + std::to_string(major) + "." + std::to_string(minor));
  h.major_version = major;
  // Version 1.0 stores the header length in 2 bytes, 2.0 and 3.0 in 4 (little-endian).
  const std::size_t len_bytes = major == 1 ? 2 : 4;
  const std::size_t preamble = kMagicLen + 2 + len_bytes;
  if (file_size < preamble || prefix.size() < preamble) fail("truncated .npy preamble");
  std::uint64_t header_len = 0;
  for (std::size_t i = 0; i < len_bytes; ++i)
    header_len |= static_cast<std::uint64_t>(prefix[kMagicLen + 2 + i]) << (8 * i);
  if (header_len > kMaxHeaderBytes)
    fail("header length " + std::to_string(header_len) + " exceeds the limit of " +
         std::to_string(kMaxHeaderBytes));
  if (header_len > file_size - preamble)
    fail("header length " + std::to_string(header_len) + " runs past the end of the file (" +
         std::to_string(file_size) + " bytes)");
  if (prefix.size() < preamble + header_len) fail("truncated .npy header");

  const std::string_view text(reinterpret_cast<const char*>(prefix.data() + preamble), header_len);
  Header parsed = HeaderParser(text).parse();
  h.type = parsed.type;
  h.shape = std::move(parsed.shape);
  h.data_offset = preamble + header_len;

  // The size check ignores zero dims (as numpy does), so (0, 2^62, 2^62) and (2^62, 2^62, 0)
  // are both refused however the zero is placed; a zero dim then makes the data empty.
  std::uint64_t bytes = item_size(h.type);
  bool empty = false;
  for (auto d : h.shape) {
    if (d == 0) {
      empty = true;
      continue;
    }
    if (mul_overflows(bytes, static_cast<std::uint64_t>(d), &bytes) ||
        bytes > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
      fail("shape " + std::to_string(h.shape.size()) +
           "-d product overflows (data size too large)");
  }
  if (empty) bytes = 0;
  if (bytes > std::numeric_limits<std::size_t>::max()) fail("data size too large");
  h.data_bytes = static_cast<std::size_t>(bytes);
  return h;
}

void check_data_size(const Header& header, std::uint64_t file_size) {
  const std::uint64_t have = file_size - header.data_offset;
  if (have < header.data_bytes)
    fail("truncated data: the header describes " + std::to_string(header.data_bytes) +
         " bytes, the file holds " + std::to_string(have));
  if (have > header.data_bytes)
    fail("trailing data: " + std::to_string(have - header.data_bytes) + " bytes after the " +
         std::to_string(header.data_bytes) + " the header describes");
}

Array parse(std::span<const std::uint8_t> file) {
  Header h = parse_header(file, file.size());
  check_data_size(h, file.size());
  Array a;
  a.type = h.type;
  a.shape = std::move(h.shape);
  a.data.assign(file.begin() + static_cast<std::ptrdiff_t>(h.data_offset), file.end());
  return a;
}

Array read(const std::filesystem::path& path) {
  const std::string name = path.string();
  try {
    Fd fd(::open(name.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) fail("cannot open: " + errno_text(errno));
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) fail("cannot stat: " + errno_text(errno));
    if (!S_ISREG(st.st_mode)) fail("not a regular file");
    const auto file_size = static_cast<std::uint64_t>(st.st_size);

    // Read only the preamble and header first, so a header that claims terabytes of data
    // is rejected before anything of that size is allocated.
    std::vector<std::uint8_t> prefix(
        static_cast<std::size_t>(std::min<std::uint64_t>(file_size, 12)));
    if (!read_fully(fd.get(), prefix.data(), prefix.size())) fail("file shrank while reading");
    if (prefix.size() >= 10 && std::equal(kMagic, kMagic + kMagicLen, prefix.begin())) {
      const std::size_t len_bytes = prefix[6] == 1 ? 2 : 4;
      std::uint64_t header_len = 0;
      if (prefix.size() >= 8 + len_bytes)
        for (std::size_t i = 0; i < len_bytes; ++i)
          header_len |= static_cast<std::uint64_t>(prefix[8 + i]) << (8 * i);
      const std::uint64_t want = std::min<std::uint64_t>(
          file_size, 8 + len_bytes + std::min<std::uint64_t>(header_len, kMaxHeaderBytes));
      if (want > prefix.size()) {
        const std::size_t old = prefix.size();
        prefix.resize(static_cast<std::size_t>(want));
        if (!read_fully(fd.get(), prefix.data() + old, prefix.size() - old))
          fail("file shrank while reading");
      }
    }
    Header h = parse_header(prefix, file_size);
    check_data_size(h, file_size);

    Array a;
    a.type = h.type;
    a.shape = std::move(h.shape);
    a.data.resize(h.data_bytes);
    const std::size_t already = prefix.size() - h.data_offset;  // data bytes read with the prefix
    std::copy(prefix.begin() + static_cast<std::ptrdiff_t>(h.data_offset), prefix.end(),
              a.data.begin());
    if (!read_fully(fd.get(), a.data.data() + already, a.data.size() - already))
      fail("file shrank while reading");
    return a;
  } catch (const Error& e) {
    throw Error(name + ": " + e.what());
  }
}

std::string header_dict(Type type, std::span<const std::int64_t> shape) {
  // Python's repr of a tuple: "()", "(3,)", "(2, 3)".
  std::string tuple = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) tuple += ", ";
    tuple += std::to_string(shape[i]);
  }
  if (shape.size() == 1) tuple += ",";
  tuple += ")";
  return std::string("{'descr': '") + descr(type) + "', 'fortran_order': False, 'shape': " + tuple +
         ", }";
}

std::vector<std::uint8_t> encode_header(Type type, std::span<const std::int64_t> shape) {
  std::string header = header_dict(type, shape);
  // numpy pads so the first dimension can grow in place to GROWTH_AXIS_MAX_DIGITS digits.
  if (!shape.empty()) header.append(kGrowthDigits - std::to_string(shape[0]).size(), ' ');
  // Then pads with spaces and a final '\n' so the data offset is a multiple of 64. numpy's
  // formula pads a full 64 bytes when already aligned; reproduced so files are identical.
  const auto padding = [&](std::size_t preamble_bytes) {
    return kArrayAlign - (preamble_bytes + header.size() + 1) % kArrayAlign;
  };
  int major = 1;
  std::size_t preamble = kMagicLen + 2 + 2;
  if (header.size() + 1 + padding(preamble) > 65535) {  // numpy falls back to version 2.0
    major = 2;
    preamble = kMagicLen + 2 + 4;
  }
  header.append(padding(preamble), ' ');
  header += '\n';

  std::vector<std::uint8_t> out(kMagic, kMagic + kMagicLen);
  out.push_back(static_cast<std::uint8_t>(major));
  out.push_back(0);
  const std::size_t len = header.size();
  for (std::size_t i = 0; i < preamble - kMagicLen - 2; ++i)
    out.push_back(static_cast<std::uint8_t>(len >> (8 * i)));
  out.insert(out.end(), header.begin(), header.end());
  return out;
}

std::vector<std::uint8_t> encode(const Array& array) {
  std::uint64_t bytes = item_size(array.type);
  for (auto d : array.shape)
    if (d < 0 || mul_overflows(bytes, static_cast<std::uint64_t>(d), &bytes))
      fail("invalid shape for encode");
  if (bytes != array.data.size())
    fail("encode: data holds " + std::to_string(array.data.size()) + " bytes, shape needs " +
         std::to_string(bytes));
  std::vector<std::uint8_t> out = encode_header(array.type, array.shape);
  out.insert(out.end(), array.data.begin(), array.data.end());
  return out;
}

}  // namespace vkattn::npy
