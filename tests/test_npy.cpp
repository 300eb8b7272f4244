// SPDX-License-Identifier: MIT
// The .npy reader and writer: round trips, numpy-identical output, and one test per class
// of malformed file, each checking the message names the problem.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "cli/npy.hpp"
#include "cli/output_file.hpp"
#include "temp_dir.hpp"

namespace vkattn::npy {
namespace {

namespace fs = std::filesystem;
using Bytes = std::vector<std::uint8_t>;

// A file with the given version, header text (length field = its size) and data bytes.
Bytes raw_file(int major, int minor, const std::string& header, std::size_t data_bytes) {
  Bytes out = {0x93,
               'N',
               'U',
               'M',
               'P',
               'Y',
               static_cast<std::uint8_t>(major),
               static_cast<std::uint8_t>(minor)};
  const std::size_t len_bytes = major == 1 ? 2 : 4;
  for (std::size_t i = 0; i < len_bytes; ++i)
    out.push_back(static_cast<std::uint8_t>(header.size() >> (8 * i)));
  out.insert(out.end(), header.begin(), header.end());
  for (std::size_t i = 0; i < data_bytes; ++i) out.push_back(static_cast<std::uint8_t>(i * 7));
  return out;
}

std::string dict(const std::string& descr, const std::string& fortran, const std::string& shape) {
  return "{'descr': '" + descr + "', 'fortran_order': " + fortran + ", 'shape': " + shape + ", }\n";
}

// Expects parse() to throw an Error whose message contains `needle`.
void expect_error(const Bytes& file, const std::string& needle) {
  try {
    (void)parse(file);
    ADD_FAILURE() << "no error; expected one mentioning '" << needle << "'";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(needle), std::string::npos) << "message: " << what;
    EXPECT_EQ(what.find('\n'), std::string::npos) << "message is not one line: " << what;
  }
}

Array sample(Type t, std::vector<std::int64_t> shape) {
  Array a;
  a.type = t;
  a.shape = std::move(shape);
  a.data.resize(a.count() * item_size(t));
  for (std::size_t i = 0; i < a.data.size(); ++i) a.data[i] = static_cast<std::uint8_t>(i * 31 + 5);
  return a;
}

using vkattn::test::TempDir;

void write_raw(const fs::path& p, const Bytes& b) {
  std::ofstream f(p, std::ios::binary);
  f.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

TEST(Npy, RoundTripsEveryTypeAndRank) {
  const std::vector<std::vector<std::int64_t>> shapes = {
      {}, {5}, {2, 3}, {2, 3, 4}, {1, 2, 3, 4}, {2, 1, 3, 1, 2}, {3, 0, 2}};
  for (Type t : {Type::f32, Type::f16, Type::boolean, Type::i32, Type::i64}) {
    for (const auto& shape : shapes) {
      SCOPED_TRACE(std::string(descr(t)) + " rank " + std::to_string(shape.size()));
      const Array a = sample(t, shape);
      const Bytes file = encode(a);
      const Array b = parse(file);
      EXPECT_EQ(b.type, a.type);
      EXPECT_EQ(b.shape, a.shape);
      EXPECT_EQ(b.data, a.data);
    }
  }
}

TEST(Npy, WritesExactlyWhatNumpyWrites) {
  // np.save of np.zeros((2, 3), np.float32) with numpy >= 1.23: the dict, 20 spaces of room
  // for the first axis to grow, padding to 128 bytes, a final newline.
  const Array a = sample(Type::f32, {2, 3});
  const Bytes file = encode(a);
  ASSERT_EQ(file.size(), 128u + 24u);
  const std::string head(file.begin(), file.begin() + 128);
  const std::string dict_text = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
  EXPECT_EQ(head.substr(0, 10), std::string("\x93NUMPY\x01\x00\x76\x00", 10));
  EXPECT_EQ(head.substr(10, dict_text.size()), dict_text);
  EXPECT_EQ(head.substr(10 + dict_text.size()),
            std::string(128 - 11 - dict_text.size(), ' ') + "\n");

  EXPECT_EQ(header_dict(Type::f16, std::vector<std::int64_t>{7}),
            "{'descr': '<f2', 'fortran_order': False, 'shape': (7,), }");
  EXPECT_EQ(header_dict(Type::boolean, std::vector<std::int64_t>{}),
            "{'descr': '|b1', 'fortran_order': False, 'shape': (), }");
  for (const auto& shape :
       {std::vector<std::int64_t>{}, {1}, {123456789, 0}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10}}) {
    const Bytes f = encode(sample(Type::boolean, shape));
    const std::size_t offset = 10 + (f[8] | (f[9] << 8));
    EXPECT_EQ(offset % 64, 0u);
    EXPECT_EQ(f[offset - 1], '\n');
  }
}

TEST(Npy, ReadsVersions2And3AndLooseSyntax) {
  for (int major : {2, 3}) {
    const Array a = parse(raw_file(major, 0, dict("<i4", "False", "(2, 2)"), 16));
    EXPECT_EQ(a.type, Type::i32);
    EXPECT_EQ(a.shape, (std::vector<std::int64_t>{2, 2}));
  }
  // Other key order, double quotes, no trailing comma, trailing comma in the tuple, no newline.
  const Array b =
      parse(raw_file(1, 0, R"({"shape": (3, 1,), "fortran_order": False, "descr": "<f2"})", 6));
  EXPECT_EQ(b.type, Type::f16);
  EXPECT_EQ(b.shape, (std::vector<std::int64_t>{3, 1}));
}

TEST(Npy, RejectsBadMagicAndVersion) {
  Bytes bad = raw_file(1, 0, dict("<f4", "False", "(1,)"), 4);
  bad[1] = 'X';
  expect_error(bad, "bad magic");
  expect_error({}, "bad magic");
  expect_error({0x93, 'N', 'U'}, "bad magic");
  expect_error(raw_file(4, 0, dict("<f4", "False", "(1,)"), 4), "version 4.0");
  expect_error(raw_file(1, 1, dict("<f4", "False", "(1,)"), 4), "version 1.1");
  expect_error(raw_file(0, 0, dict("<f4", "False", "(1,)"), 4), "version 0.0");
}

TEST(Npy, RejectsHeadersThatAreNotTheDict) {
  expect_error(raw_file(1, 0, "[1, 2]\n", 0), "not a dict");
  expect_error(raw_file(1, 0, "", 0), "not a dict");
  expect_error(raw_file(1, 0, "{'descr': '<f4', 'shape': (1,)}", 4),
               "lacks the key 'fortran_order'");
  expect_error(raw_file(1, 0, "{'fortran_order': False, 'shape': (1,)}", 4),
               "lacks the key 'descr'");
  expect_error(raw_file(1, 0, "{'descr': '<f4', 'fortran_order': False}", 4),
               "lacks the key 'shape'");
  expect_error(raw_file(1, 0, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1}", 4),
               "unexpected key 'x'");
  expect_error(
      raw_file(1, 0, "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (1,)}", 4),
      "duplicate key");
  expect_error(raw_file(1, 0, dict("<f4", "False", "(1,)") + "x", 4), "after the header dict");
  expect_error(raw_file(1, 0, "{'descr': '<f4' 'fortran_order': False, 'shape': (1,)}", 4),
               "expected ','");
  expect_error(raw_file(1, 0, "{'descr': '<f4', 'fortran_order': 0, 'shape': (1,)}", 4),
               "True or False");
  expect_error(raw_file(1, 0, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,)", 4),
               "expected ',' or '}'");
  expect_error(raw_file(1, 0, "{'descr' '<f4', 'fortran_order': False, 'shape': (1,)}", 4),
               "expected ':'");
  expect_error(raw_file(1, 0, "{'descr': '<f4", 0), "unterminated");
  expect_error(raw_file(1, 0, std::string("{'descr': '<f4', \0", 18), 0), "expected a string");
}

TEST(Npy, RejectsFortranOrderAndUnsupportedTypes) {
  expect_error(raw_file(1, 0, dict("<f4", "True", "(2, 2)"), 16), "fortran_order True");
  expect_error(raw_file(1, 0, dict(">f4", "False", "(1,)"), 4), "big-endian");
  expect_error(raw_file(1, 0, dict(">i8", "False", "(1,)"), 8), "big-endian");
  expect_error(raw_file(1, 0, dict("<f8", "False", "(1,)"), 8), "float64");
  expect_error(raw_file(1, 0, dict("<c8", "False", "(1,)"), 8), "unsupported dtype '<c8'");
  expect_error(raw_file(1, 0, dict("<u1", "False", "(1,)"), 1), "unsupported dtype");
  expect_error(
      raw_file(1, 0, "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,)}", 4),
      "expected a string");
}

TEST(Npy, RejectsBadShapes) {
  expect_error(raw_file(1, 0, dict("<f4", "False", "(-1, 2)"), 0), "negative");
  expect_error(raw_file(1, 0, dict("<f4", "False", "(99999999999999999999,)"), 0),
               "overflows a 64-bit");
  expect_error(raw_file(1, 0, dict("<f4", "False", "(4294967296, 4294967296)"), 0), "overflows");
  // Where a zero dim stands must not change whether the other dims overflow (found by fuzz_npy).
  expect_error(
      raw_file(1, 0, dict("<f4", "False", "(0, 4611686018427387904, 4611686018427387904)"), 0),
      "overflows");
  expect_error(
      raw_file(1, 0, dict("<f4", "False", "(4611686018427387904, 4611686018427387904, 0)"), 0),
      "overflows");
  expect_error(raw_file(1, 0, dict("<f4", "False", "(3)"), 12), "must be a tuple");
  expect_error(raw_file(1, 0, dict("<f4", "False", "[3]"), 12), "must be a tuple");
  expect_error(raw_file(1, 0, dict("<f4", "False", "(3.5,)"), 12), "expected ',' or ')'");
  expect_error(raw_file(1, 0, dict("<f4", "False", "(03,)"), 12), "leading zero");
  expect_error(raw_file(1, 0, dict("<f4", "False", "(,)"), 0), "expected an integer");
  std::string many = "(";
  for (int i = 0; i < 65; ++i) many += "1, ";
  expect_error(raw_file(1, 0, dict("<f4", "False", many + ")"), 4), "more than 64");
}

TEST(Npy, RejectsWrongDataSizeAndHeaderPastEnd) {
  expect_error(raw_file(1, 0, dict("<f4", "False", "(2, 3)"), 23), "truncated data");
  expect_error(raw_file(1, 0, dict("<f4", "False", "(2, 3)"), 25), "trailing data");
  expect_error(raw_file(1, 0, dict("<f4", "False", "(0,)"), 1), "trailing data");
  Bytes past = raw_file(1, 0, dict("<f4", "False", "(1,)"), 4);
  past[8] = 0xff;
  past[9] = 0x7f;
  expect_error(past, "runs past the end");
  Bytes huge = raw_file(2, 0, dict("<f4", "False", "(1,)"), 4);
  huge[11] = 0x7f;
  expect_error(huge, "exceeds the limit");
  expect_error(Bytes{0x93, 'N', 'U', 'M', 'P', 'Y', 2, 0, 1}, "truncated .npy preamble");
}

TEST(Npy, ReadsAndWritesFiles) {
  TempDir dir;
  const Array a = sample(Type::f16, {2, 5, 3});
  const fs::path p = dir.path() / "a.npy";
  cli::write_file_atomically(p, encode(a));
  const Array b = read(p);
  EXPECT_EQ(b.shape, a.shape);
  EXPECT_EQ(b.data, a.data);
  // Only the target is left in the directory: the temporary file was renamed.
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 1);

  // Files read the same way as memory: truncated, and a header length past the end.
  Bytes file = encode(a);
  file.pop_back();
  write_raw(dir.path() / "t.npy", file);
  EXPECT_THROW((void)read(dir.path() / "t.npy"), Error);
  Bytes past = raw_file(1, 0, dict("<f4", "False", "(1,)"), 4);
  past[8] = 0xff;
  write_raw(dir.path() / "p.npy", past);
  try {
    (void)read(dir.path() / "p.npy");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("p.npy: header length"), std::string::npos) << e.what();
  }
  write_raw(dir.path() / "empty.npy", {});
  EXPECT_THROW((void)read(dir.path() / "empty.npy"), Error);
}

TEST(Npy, ReportsMissingAndUnreadableFiles) {
  TempDir dir;
  try {
    (void)read(dir.path() / "missing.npy");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("No such file"), std::string::npos) << e.what();
  }
  try {
    (void)read(dir.path());
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("not a regular file"), std::string::npos) << e.what();
  }
}

TEST(StagedFile, LeavesNothingWhenNotCommitted) {
  TempDir dir;
  {
    cli::StagedFile f(dir.path() / "x.npy");
    f.write(Bytes{1, 2, 3});
    EXPECT_TRUE(fs::exists(f.temp_path()));
  }
  EXPECT_TRUE(fs::is_empty(dir.path()));
  EXPECT_THROW(cli::StagedFile(dir.path() / "no-such-dir" / "x.npy"), std::system_error);
}

}  // namespace
}  // namespace vkattn::npy
