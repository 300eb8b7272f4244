// SPDX-License-Identifier: MIT
// The `vkattn` executable, driven as a user (or the independent checker) would: .npy files
// in a temporary directory, the command spawned with its output captured, results compared
// with the library called directly. Inputs are made in logical BHLD order and transposed
// for --layout blhd here, independently of how the command builds its views.
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "cli/npy.hpp"
#include "temp_dir.hpp"
#include "testutil.hpp"

extern char** environ;

namespace vkattn::test {
namespace {

namespace fs = std::filesystem;

#ifndef VKATTN_CLI_PATH
#error "VKATTN_CLI_PATH must name the built vkattn executable"
#endif

using vkattn::test::TempDir;

struct Result {
  int code = -1;
  std::string out;
  std::string err;
};

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

// `run` over q.npy, k.npy and v.npy of `dir`, writing its o.npy.
std::vector<std::string> run_args(const TempDir& dir) {
  return {"run",
          "--q",
          dir.file("q.npy"),
          "--k",
          dir.file("k.npy"),
          "--v",
          dir.file("v.npy"),
          "--out",
          dir.file("o.npy")};
}

// Runs the command with stdout and stderr captured in files outside `dir`'s listing.
Result run_cli(const std::vector<std::string>& args) {
  static TempDir capture_dir;
  const std::string out_path = capture_dir.file("stdout"), err_path = capture_dir.file("stderr");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0644);
  posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0644);
  std::vector<std::string> all{VKATTN_CLI_PATH};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  argv.reserve(all.size() + 1);
  for (auto& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  Result r;
  const int rc = posix_spawn(&pid, VKATTN_CLI_PATH, &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    r.err = "posix_spawn failed: " + std::string(std::strerror(rc));
    return r;
  }
  int status = 0;
  waitpid(pid, &status, 0);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = slurp(out_path);
  r.err = slurp(err_path);
  return r;
}

std::string describe(const std::vector<std::string>& args, const Result& r) {
  std::string s = "vkattn";
  for (const auto& a : args) s += " " + a;
  return s + "\n  exit " + std::to_string(r.code) + "\n  stdout: " + r.out + "\n  stderr: " + r.err;
}

bool has_vulkan() {
  static const bool yes = !Context::list_devices().empty();
  return yes;
}

npy::Type npy_type(DType t) {
  switch (t) {
    case DType::f16: return npy::Type::f16;
    case DType::boolean: return npy::Type::boolean;
    default: return npy::Type::f32;
  }
}

void save(const std::string& path, npy::Type type, std::vector<std::int64_t> shape,
          const void* data) {
  npy::Array a;
  a.type = type;
  a.shape = std::move(shape);
  a.data.resize(a.count() * npy::item_size(type));
  std::memcpy(a.data.data(), data, a.data.size());
  const auto bytes = npy::encode(a);
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()),
             static_cast<std::streamsize>(bytes.size()));
}

// Swaps dims 1 and 2 of a contiguous 4-D array of `item`-byte elements (BHLD <-> BLHD).
std::vector<std::uint8_t> swap12(const std::uint8_t* src, const Dims4& s, std::size_t item) {
  std::vector<std::uint8_t> dst(static_cast<std::size_t>(s[0] * s[1] * s[2] * s[3]) * item);
  for (std::int64_t a = 0; a < s[0]; ++a)
    for (std::int64_t b = 0; b < s[1]; ++b)
      for (std::int64_t c = 0; c < s[2]; ++c) {
        const auto from = static_cast<std::size_t>(((a * s[1] + b) * s[2] + c) * s[3]) * item;
        const auto to = static_cast<std::size_t>(((a * s[2] + c) * s[1] + b) * s[3]) * item;
        std::memcpy(dst.data() + to, src + from, static_cast<std::size_t>(s[3]) * item);
      }
  return dst;
}

// One `vkattn run` scenario: the problem, the extra command-line options, and how the same
// options look to the library.
struct Scenario {
  DType dtype = DType::f32;
  std::int64_t B = 2, Hq = 4, Hkv = 2, Lq = 5, Lkv = 7, Dk = 8, Dv = 6;
  bool blhd = false;
  std::vector<std::string> args;
  std::function<void(AttentionDesc&)> desc_edit;
  std::vector<std::int64_t> mask_shape;  // empty: no mask
  DType mask_dtype = DType::boolean;
  bool kv_lens_i64 = false;
  bool kv_lens = false;
  bool lse = false;
  bool probs = false;
};

// Writes the inputs, runs the command with `backend_args`, and compares every output with
// the library on the CPU backend.
void check_scenario(const Scenario& s, const std::vector<std::string>& backend_args,
                    bool expect_quiet_stderr) {
  TempDir dir;
  const std::uint64_t seed = 1234;
  AttentionDesc desc;
  desc.batch = s.B;
  desc.heads_q = s.Hq;
  desc.heads_kv = s.Hkv;
  desc.len_q = s.Lq;
  desc.len_kv = s.Lkv;
  desc.head_dim = s.Dk;
  desc.head_dim_v = s.Dv;
  desc.dtype = s.dtype;
  if (s.desc_edit) s.desc_edit(desc);

  const Dims4 qs{s.B, s.Hq, s.Lq, s.Dk}, ks{s.B, s.Hkv, s.Lkv, s.Dk}, vs{s.B, s.Hkv, s.Lkv, s.Dv};
  const auto count = [](const Dims4& d) {
    return static_cast<std::size_t>(d[0] * d[1] * d[2] * d[3]);
  };
  const HostTensor q = random_tensor(s.dtype, count(qs), seed);
  const HostTensor k = random_tensor(s.dtype, count(ks), seed + 1);
  const HostTensor v = random_tensor(s.dtype, count(vs), seed + 2);
  const std::size_t item = size_of(s.dtype);
  const auto save_qkv = [&](const char* name, const HostTensor& t, const Dims4& d) {
    if (s.blhd)
      save(dir.file(name), npy_type(s.dtype), {d[0], d[2], d[1], d[3]},
           swap12(t.bytes.data(), d, item).data());
    else
      save(dir.file(name), npy_type(s.dtype), {d[0], d[1], d[2], d[3]}, t.bytes.data());
  };
  save_qkv("q.npy", q, qs);
  save_qkv("k.npy", k, ks);
  save_qkv("v.npy", v, vs);
  std::vector<std::string> args = run_args(dir);
  if (s.blhd) args.insert(args.end(), {"--layout", "blhd"});
  args.insert(args.end(), s.args.begin(), s.args.end());

  AttentionInputs in{TensorView::bhld(q.data(), s.dtype, s.B, s.Hq, s.Lq, s.Dk),
                     TensorView::bhld(k.data(), s.dtype, s.B, s.Hkv, s.Lkv, s.Dk),
                     TensorView::bhld(v.data(), s.dtype, s.B, s.Hkv, s.Lkv, s.Dv),
                     std::nullopt,
                     {}};
  std::optional<HostTensor> mask;
  if (!s.mask_shape.empty()) {
    Dims4 m4{1, 1, 1, 1};
    std::copy(s.mask_shape.begin(), s.mask_shape.end(),
              m4.begin() + static_cast<std::ptrdiff_t>(4 - s.mask_shape.size()));
    mask.emplace(random_tensor(s.mask_dtype == DType::boolean ? DType::f32 : s.mask_dtype,
                               count(m4), seed + 3, 2.0f));
    if (s.mask_dtype == DType::boolean) {
      HostTensor b(DType::boolean, count(m4));
      for (std::size_t i = 0; i < b.count; ++i)
        b.bytes[i] = mask->get(i) > -1.0f ? 1 : 0;  // ~75% attend
      mask.emplace(std::move(b));
    }
    save(dir.file("m.npy"), npy_type(s.mask_dtype), s.mask_shape, mask->data());
    args.insert(args.end(), {"--mask", dir.file("m.npy")});
    in.mask = TensorView{mask->data(),
                         s.mask_dtype,
                         m4,
                         {m4[1] * m4[2] * m4[3], m4[2] * m4[3], m4[3], 1},
                         count(m4)};
  }
  std::vector<std::int32_t> lens32;
  if (s.kv_lens) {
    std::vector<std::int64_t> lens64;
    for (std::int64_t b = 0; b < s.B; ++b) {
      lens32.push_back(static_cast<std::int32_t>(std::max<std::int64_t>(0, s.Lkv - 2 * b - 1)));
      lens64.push_back(lens32.back());
    }
    if (s.kv_lens_i64)
      save(dir.file("lens.npy"), npy::Type::i64, {s.B}, lens64.data());
    else
      save(dir.file("lens.npy"), npy::Type::i32, {s.B}, lens32.data());
    args.insert(args.end(), {"--kv-lens", dir.file("lens.npy")});
    in.kv_lens = lens32;
  }
  if (s.lse) args.insert(args.end(), {"--lse-out", dir.file("lse.npy")});
  if (s.probs) args.insert(args.end(), {"--probs-out", dir.file("p.npy")});
  args.insert(args.end(), backend_args.begin(), backend_args.end());

  HostTensor ref_out(s.dtype, count({s.B, s.Hq, s.Lq, s.Dv}));
  std::vector<float> ref_lse(s.lse ? static_cast<std::size_t>(s.B * s.Hq * s.Lq) : 0);
  std::vector<float> ref_probs(s.probs ? static_cast<std::size_t>(s.B * s.Hq * s.Lq * s.Lkv) : 0);
  Options cpu;
  cpu.backend = Backend::cpu;
  Context ctx = Context::create(cpu);
  ctx.attention(desc, in,
                {MutableTensorView::bhld(ref_out.data(), s.dtype, s.B, s.Hq, s.Lq, s.Dv), ref_lse,
                 ref_probs});

  const Result r = run_cli(args);
  ASSERT_EQ(r.code, 0) << describe(args, r);
  if (expect_quiet_stderr) {
    EXPECT_EQ(r.err, "") << "validation layer or other messages:\n" << describe(args, r);
  }

  const npy::Array out = npy::read(dir.file("o.npy"));
  EXPECT_EQ(out.type, npy_type(s.dtype));
  const std::vector<std::int64_t> want_shape =
      s.blhd ? std::vector<std::int64_t>{s.B, s.Lq, s.Hq, s.Dv}
             : std::vector<std::int64_t>{s.B, s.Hq, s.Lq, s.Dv};
  ASSERT_EQ(out.shape, want_shape);
  const std::vector<std::uint8_t> got_bytes =
      s.blhd ? swap12(out.data.data(), {s.B, s.Lq, s.Hq, s.Dv}, item) : out.data;
  std::vector<double> ref;
  for (std::size_t i = 0; i < ref_out.count; ++i) ref.push_back(ref_out.get(i));
  const Tolerance tol = tolerance_for(s.dtype);
  const auto got = [&](std::size_t i) {
    return detail::load_as_float(got_bytes.data(), s.dtype, i);
  };
  const Comparison c = compare(got, ref, tol, 1.0);
  EXPECT_TRUE(c.ok) << "output differs: max abs err " << c.max_abs_err << " at " << c.worst << "\n"
                    << describe(args, r);

  const auto check_f32 = [&](const char* name, const std::vector<float>& want,
                             const std::vector<std::int64_t>& shape) {
    const npy::Array a = npy::read(dir.file(name));
    EXPECT_EQ(a.type, npy::Type::f32) << name;
    ASSERT_EQ(a.shape, shape) << name;
    std::vector<double> w(want.begin(), want.end());
    const auto g = [&](std::size_t i) {
      return detail::load_as_float(a.data.data(), DType::f32, i);
    };
    const Comparison cf = compare(g, w, tolerance_for(DType::f32), 1.0);
    EXPECT_TRUE(cf.ok) << name << " differs: max abs err " << cf.max_abs_err << "\n"
                       << describe(args, r);
  };
  if (s.lse) check_f32("lse.npy", ref_lse, {s.B, s.Hq, s.Lq});
  if (s.probs) check_f32("p.npy", ref_probs, {s.B, s.Hq, s.Lq, s.Lkv});
}

// Every option at least once; each scenario runs on the CPU backend and, where a Vulkan
// device exists, on Vulkan with the validation layer (which must stay silent).
std::vector<std::pair<std::string, Scenario>> scenarios() {
  std::vector<std::pair<std::string, Scenario>> list;
  const auto add = [&](const std::string& name, const std::function<void(Scenario&)>& edit) {
    Scenario s;
    edit(s);
    list.emplace_back(name, std::move(s));
  };
  add("plain", [](Scenario&) {});
  add("blhd", [](Scenario& s) { s.blhd = true; });
  add("scale", [](Scenario& s) {
    s.args = {"--scale", "0.3"};
    s.desc_edit = [](AttentionDesc& d) { d.scale = 0.3f; };
  });
  add("causal_top_left", [](Scenario& s) {
    s.args = {"--causal", "top-left"};
    s.desc_edit = [](AttentionDesc& d) { d.causal = Causal::top_left; };
  });
  add("causal_bottom_right", [](Scenario& s) {
    s.args = {"--causal", "bottom-right"};
    s.desc_edit = [](AttentionDesc& d) { d.causal = Causal::bottom_right; };
  });
  add("causal_none_window", [](Scenario& s) {
    s.args = {"--causal", "none", "--window", "2,1"};
    s.desc_edit = [](AttentionDesc& d) {
      d.window_left = 2;
      d.window_right = 1;
    };
  });
  add("window_unbounded_left", [](Scenario& s) {
    s.args = {"--window", "-1,0"};
    s.desc_edit = [](AttentionDesc& d) {
      d.window_left = -1;
      d.window_right = 0;
    };
  });
  add("bool_mask_2d", [](Scenario& s) { s.mask_shape = {5, 7}; });
  add("float_mask_3d", [](Scenario& s) {
    s.mask_shape = {4, 5, 7};
    s.mask_dtype = DType::f32;
  });
  add("float_mask_3d_broadcast_heads", [](Scenario& s) {
    s.mask_shape = {1, 5, 7};
    s.mask_dtype = DType::f32;
  });
  add("f16_mask_4d", [](Scenario& s) {
    s.mask_shape = {2, 1, 5, 1};
    s.mask_dtype = DType::f16;
  });
  add("bool_mask_blhd", [](Scenario& s) {
    s.blhd = true;
    s.mask_shape = {2, 4, 5, 7};
  });
  add("kv_lens_i32", [](Scenario& s) { s.kv_lens = true; });
  add("kv_lens_i64", [](Scenario& s) {
    s.kv_lens = true;
    s.kv_lens_i64 = true;
  });
  add("softcap", [](Scenario& s) {
    s.args = {"--softcap", "2.5"};
    s.desc_edit = [](AttentionDesc& d) { d.softcap = 2.5f; };
  });
  add("lse_and_probs", [](Scenario& s) {
    s.lse = true;
    s.probs = true;
    s.mask_shape = {5, 7};
  });
  add("f16", [](Scenario& s) {
    s.dtype = DType::f16;
    s.lse = true;
  });
  add("f16_blhd_everything", [](Scenario& s) {
    s.dtype = DType::f16;
    s.blhd = true;
    s.kv_lens = true;
    s.lse = true;
    s.mask_shape = {5, 7};
    s.mask_dtype = DType::f16;
    s.args = {"--scale", "0.5", "--causal", "bottom-right", "--softcap", "4"};
    s.desc_edit = [](AttentionDesc& d) {
      d.scale = 0.5f;
      d.causal = Causal::bottom_right;
      d.softcap = 4.0f;
    };
  });
  return list;
}

TEST(CliRun, MatchesTheLibraryOnCpu) {
  for (const auto& [name, s] : scenarios()) {
    SCOPED_TRACE(name);
    check_scenario(s, {"--backend", "cpu"}, true);
  }
}

TEST(CliRun, MatchesTheLibraryOnVulkanWithValidation) {
  if (!has_vulkan()) {
    // The suite's rule (testutil.hpp): a missing device fails unless explicitly allowed.
    if (no_vulkan_allowed()) GTEST_SKIP() << "no Vulkan device (VKATTN_TESTS_ALLOW_NO_VULKAN=1)";
    FAIL()
        << "no Vulkan device (set VKATTN_TESTS_ALLOW_NO_VULKAN=1 to skip Vulkan tests explicitly)";
  }
  for (const auto& [name, s] : scenarios()) {
    SCOPED_TRACE(name);
    std::vector<std::string> backend{"--backend", "vulkan", "--validation"};
    if (s.probs) backend.insert(backend.end(), {"--kernel", "three-pass"});
    check_scenario(s, backend, true);
  }
}

TEST(CliRun, WritesNumpyIdenticalFiles) {
  TempDir dir;
  const HostTensor q = random_tensor(DType::f32, 1 * 2 * 3 * 4, 7);
  for (const char* name : {"q.npy", "k.npy", "v.npy"})
    save(dir.file(name), npy::Type::f32, {1, 2, 3, 4}, q.data());
  std::vector<std::string> args = run_args(dir);
  args.insert(args.end(), {"--backend", "cpu"});
  const Result r = run_cli(args);
  ASSERT_EQ(r.code, 0) << describe(args, r);
  const std::string bytes = slurp(dir.file("o.npy"));
  const std::string header = std::string("\x93NUMPY\x01\x00\x76\x00", 10) +
                             "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2, 3, 4), }";
  ASSERT_GE(bytes.size(), 128u);
  EXPECT_EQ(bytes.substr(0, header.size()), header);
  EXPECT_EQ(bytes.substr(header.size(), 128 - header.size()),
            std::string(128 - header.size() - 1, ' ') + "\n");
  EXPECT_EQ(bytes.size(), 128u + 24 * 4);
  EXPECT_EQ(dir.listing(), (std::set<std::string>{"q.npy", "k.npy", "v.npy", "o.npy"}));
}

// --stats: the plan line is the plan the library makes for the call, the time line is there
// (with device time exactly where the backend has timestamps), and the output is unchanged.
void expect_stats(const std::vector<std::string>& backend, const Options& options) {
  TempDir dir;
  const HostTensor q = random_tensor(DType::f32, 2 * 4 * 5 * 8, 3);
  const HostTensor kv = random_tensor(DType::f32, 2 * 2 * 9 * 8, 4);
  save(dir.file("q.npy"), npy::Type::f32, {2, 4, 5, 8}, q.data());
  save(dir.file("k.npy"), npy::Type::f32, {2, 2, 9, 8}, kv.data());
  save(dir.file("v.npy"), npy::Type::f32, {2, 2, 9, 8}, kv.data());
  std::vector<std::string> args = run_args(dir);
  args.push_back("--stats");
  args.insert(args.end(), backend.begin(), backend.end());
  const Result r = run_cli(args);
  ASSERT_EQ(r.code, 0) << describe(args, r);
  EXPECT_EQ(r.err, "") << describe(args, r);

  AttentionDesc desc;
  desc.batch = 2;
  desc.heads_q = 4;
  desc.heads_kv = 2;
  desc.len_q = 5;
  desc.len_kv = 9;
  desc.head_dim = 8;
  const Context ctx = Context::create(options);
  const std::string plan = "plan:    " + ctx.plan(desc).reason + "\n";
  EXPECT_NE(r.out.find(plan), std::string::npos) << "expected " << plan << describe(args, r);
  EXPECT_NE(r.out.find("device:  "), std::string::npos) << describe(args, r);
  EXPECT_NE(r.out.find("time:    "), std::string::npos) << describe(args, r);
  EXPECT_EQ(r.out.find("ms on the device") != std::string::npos, ctx.device().timestamps)
      << describe(args, r);
  const std::string out = slurp(dir.file("o.npy"));
  EXPECT_EQ(out.size(), 128u + 2 * 4 * 5 * 8 * 4);  // written as without --stats
}

TEST(CliRun, StatsNameThePlanOnCpu) {
  Options cpu;
  cpu.backend = Backend::cpu;
  expect_stats({"--backend", "cpu"}, cpu);
}

TEST(CliRun, StatsNameThePlanOnVulkan) {
  if (!has_vulkan()) {
    if (no_vulkan_allowed()) GTEST_SKIP() << "no Vulkan device (VKATTN_TESTS_ALLOW_NO_VULKAN=1)";
    FAIL()
        << "no Vulkan device (set VKATTN_TESTS_ALLOW_NO_VULKAN=1 to skip Vulkan tests explicitly)";
  }
  expect_stats({"--backend", "vulkan", "--validation"}, vulkan_test_options());
}

// A directory of valid inputs (B=2, Hq=4, Hkv=2, Lq=5, Lkv=7, D=8) and helpers to break them.
class CliBadInput : public ::testing::Test {
 protected:
  void SetUp() override {
    const HostTensor t = random_tensor(DType::f32, 2 * 4 * 7 * 8, 99);
    save(dir_.file("q.npy"), npy::Type::f32, {2, 4, 5, 8}, t.data());
    save(dir_.file("k.npy"), npy::Type::f32, {2, 2, 7, 8}, t.data());
    save(dir_.file("v.npy"), npy::Type::f32, {2, 2, 7, 8}, t.data());
    inputs_ = dir_.listing();
  }

  // A valid `run` command line with `replace` (option -> value) applied and `extra` appended.
  std::vector<std::string> command(
      const std::vector<std::pair<std::string, std::string>>& replace = {},
      const std::vector<std::string>& extra = {}) const {
    std::vector<std::pair<std::string, std::string>> opts{{"--q", dir_.file("q.npy")},
                                                          {"--k", dir_.file("k.npy")},
                                                          {"--v", dir_.file("v.npy")},
                                                          {"--out", dir_.file("o.npy")},
                                                          {"--backend", "cpu"}};
    for (const auto& [o, v] : replace) {
      bool found = false;
      for (auto& [o2, v2] : opts)
        if (o2 == o) {
          v2 = v;
          found = true;
        }
      if (!found) opts.emplace_back(o, v);
    }
    std::vector<std::string> args{"run"};
    for (const auto& [o, v] : opts)
      if (!v.empty()) args.insert(args.end(), {o, v});
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }

  // Exit 2, exactly one line on stderr containing `needle`, and no file left behind.
  void expect_bad_input(const std::vector<std::string>& args, const std::string& needle) {
    const Result r = run_cli(args);
    EXPECT_EQ(r.code, 2) << describe(args, r);
    EXPECT_NE(r.err.find(needle), std::string::npos) << "expected '" << needle << "' in stderr\n"
                                                     << describe(args, r);
    ASSERT_FALSE(r.err.empty());
    EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "stderr is not one line\n"
                                                  << describe(args, r);
    EXPECT_EQ(dir_.listing(), inputs_) << describe(args, r);
  }

  std::string write(const std::string& name, npy::Type type, std::vector<std::int64_t> shape) {
    std::vector<std::uint8_t> zeros(npy::item_size(type) * 2 * 4 * 5 * 7 * 8);
    save(dir_.file(name), type, std::move(shape), zeros.data());
    inputs_ = dir_.listing();
    return dir_.file(name);
  }
  std::string write_raw(const std::string& name, const std::string& bytes) {
    std::ofstream(dir_.file(name), std::ios::binary) << bytes;
    inputs_ = dir_.listing();
    return dir_.file(name);
  }

  TempDir dir_;
  std::set<std::string> inputs_;
};

TEST_F(CliBadInput, Files) {
  expect_bad_input(command({{"--q", dir_.file("missing.npy")}}), "No such file");
  expect_bad_input(command({{"--k", write_raw("text.npy", "hello, world\n")}}), "bad magic");
  const std::string valid = slurp(dir_.file("v.npy"));
  expect_bad_input(command({{"--v", write_raw("short.npy", valid.substr(0, valid.size() - 3))}}),
                   "truncated data");
  expect_bad_input(command({{"--v", write_raw("long.npy", valid + "x")}}), "trailing data");
  std::string f8 = slurp(dir_.file("q.npy"));
  f8.replace(f8.find("<f4"), 3, "<f8");
  expect_bad_input(command({{"--q", write_raw("f8.npy", f8 + f8.substr(128))}}), "float64");
  expect_bad_input(command({{"--q", dir_.file("")}}), "--q");
}

TEST_F(CliBadInput, DtypesAndShapes) {
  expect_bad_input(command({{"--q", write("qi.npy", npy::Type::i32, {2, 4, 5, 8})}}),
                   "dtype int32");
  expect_bad_input(command({{"--k", write("kh.npy", npy::Type::f16, {2, 2, 7, 8})}}),
                   "share one dtype");
  expect_bad_input(command({{"--q", write("q3.npy", npy::Type::f32, {4, 5, 8})}}), "4-D");
  expect_bad_input(command({{"--k", write("kd.npy", npy::Type::f32, {2, 2, 7, 6})}}),
                   "shape mismatch");
  expect_bad_input(command({{"--v", write("vl.npy", npy::Type::f32, {2, 2, 6, 8})}}),
                   "shape mismatch");
  expect_bad_input(command({{"--k", write("kb.npy", npy::Type::f32, {3, 2, 7, 8})}}),
                   "shape mismatch");
  expect_bad_input(command({{"--mask", write("m.npy", npy::Type::boolean, {5, 6})}}),
                   "not broadcastable");
  expect_bad_input(command({{"--mask", write("m3.npy", npy::Type::f32, {3, 5, 7})}}),
                   "not broadcastable");
  expect_bad_input(command({{"--mask", write("m1.npy", npy::Type::boolean, {7})}}),
                   "rank 2, 3 or 4");
  expect_bad_input(command({{"--mask", write("mi.npy", npy::Type::i32, {5, 7})}}),
                   "--mask: dtype int32");
  expect_bad_input(command({{"--kv-lens", write("lf.npy", npy::Type::f32, {2})}}),
                   "--kv-lens: dtype float32");
  expect_bad_input(command({{"--kv-lens", write("l3.npy", npy::Type::i32, {3})}}),
                   "--kv-lens: expected shape (2,)");
  const std::int64_t too_long[2] = {3, 8};
  save(dir_.file("lbig.npy"), npy::Type::i64, {2}, too_long);
  inputs_ = dir_.listing();
  expect_bad_input(command({{"--kv-lens", dir_.file("lbig.npy")}}), "outside [0, Lkv=7]");
  // The library rejects what only it knows: Hq must be a multiple of Hkv.
  expect_bad_input(command({{"--k", write("k3.npy", npy::Type::f32, {2, 3, 7, 8})},
                            {"--v", write("v3.npy", npy::Type::f32, {2, 3, 7, 8})}}),
                   "vkattn: invalid_argument");
}

TEST_F(CliBadInput, OptionValues) {
  expect_bad_input(command({{"--causal", "diagonal"}}), "--causal 'diagonal'");
  expect_bad_input(command({{"--layout", "hbld"}}), "--layout 'hbld'");
  expect_bad_input(command({{"--window", "3"}}), "--window '3'");
  expect_bad_input(command({{"--window", "-2,0"}}), "--window '-2,0'");
  expect_bad_input(command({{"--window", "1,x"}}), "--window '1,x'");
  expect_bad_input(command({{"--scale", "abc"}}), "--scale 'abc'");
  expect_bad_input(command({{"--scale", "nan"}}), "--scale 'nan'");
  expect_bad_input(command({{"--softcap", "1e99"}}), "--softcap '1e99'");
  expect_bad_input(command({{"--backend", "metal"}}), "--backend 'metal'");
  expect_bad_input(command({{"--kernel", "fast"}}), "--kernel 'fast'");
  expect_bad_input(command({}, {"--frobnicate"}), "--frobnicate");
  expect_bad_input(command({{"--out", ""}}), "--out is required");
  expect_bad_input({}, "subcommand");
  expect_bad_input({"dance"}, "dance");
}

TEST_F(CliBadInput, Outputs) {
  expect_bad_input(command({{"--out", dir_.file("no-such-dir/o.npy")}}), "--out");
  expect_bad_input(command({{"--out", dir_.file(".")}}), "is a directory");
  expect_bad_input(command({{"--lse-out", dir_.file("o.npy")}}), "same file");
  expect_bad_input(command({{"--probs-out", dir_.file("no-such-dir/p.npy")}}), "--probs-out");
  // A failure after the outputs are staged (here, the library's validation) leaves none.
  expect_bad_input(command({{"--lse-out", dir_.file("lse.npy")},
                            {"--k", write("k3.npy", npy::Type::f32, {2, 3, 7, 8})},
                            {"--v", write("v3.npy", npy::Type::f32, {2, 3, 7, 8})}}),
                   "vkattn: invalid_argument");
}

TEST(Cli, HelpExitsZeroAndDocumentsMaskOrder) {
  const Result r = run_cli({"run", "--help"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("logical [B, Hq, Lq, Lkv] order"), std::string::npos) << r.out;
  EXPECT_EQ(run_cli({"--help"}).code, 0);
  EXPECT_EQ(run_cli({"--version"}).code, 0);
}

TEST(Cli, InfoNamesADevice) {
  const Result r = run_cli({"info"});
  ASSERT_EQ(r.code, 0) << describe({"info"}, r);
  const auto devices = Context::list_devices();
  if (devices.empty()) {
    EXPECT_NE(r.out.find("CPU backend"), std::string::npos) << r.out;
  } else {
    EXPECT_NE(r.out.find(devices[0].name), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("auto chooses"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("maxStorageBufferRange"), std::string::npos) << r.out;
  }
  const Result cpu = run_cli({"info", "--backend", "cpu"});
  EXPECT_EQ(cpu.code, 0) << describe({"info", "--backend", "cpu"}, cpu);
  EXPECT_NE(cpu.out.find("selected: the CPU backend"), std::string::npos) << cpu.out;
}

TEST(Cli, DemoPassesOnASmallShape) {
  const std::vector<std::string> args{"demo", "--len", "67", "--heads", "2", "--dim", "32"};
  const Result r = run_cli(args);
  EXPECT_EQ(r.code, 0) << describe(args, r);
  EXPECT_NE(r.out.find("plan:"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(": ok"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("GFLOP/s"), std::string::npos) << r.out;
  const std::vector<std::string> f16{"demo",    "--backend", "cpu",      "--len",   "33",
                                     "--dtype", "f16",       "--causal", "top-left"};
  const Result h = run_cli(f16);
  EXPECT_EQ(h.code, 0) << describe(f16, h);
  const Result bad = run_cli({"demo", "--dtype", "f64"});
  EXPECT_EQ(bad.code, 2) << describe({"demo", "--dtype", "f64"}, bad);
}

}  // namespace
}  // namespace vkattn::test
