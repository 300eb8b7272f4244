// SPDX-License-Identifier: MIT
// `vkattn run`: .npy files in, one attention call, .npy files out. Outputs are staged as
// temporary files before the call (so an unwritable path fails before any work) and renamed
// into place only after every output is written, so a failure leaves no output behind.
#include <cstdio>
#include <filesystem>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "cli/commands.hpp"
#include "cli/npy.hpp"
#include "cli/output_file.hpp"
#include "cli/run_inputs.hpp"
#include "vkattn/vkattn.hpp"

namespace vkattn::cli {

namespace {

namespace fs = std::filesystem;

struct OutputSpec {
  const char* option;
  std::string path;
};

// Elements of `shape`, overflow-checked against the bytes of `item` each element takes.
std::size_t element_count(const std::vector<std::int64_t>& shape, std::size_t item,
                          const char* option) {
  std::size_t n = 1, bytes = item;
  for (auto d : shape)
    if (d < 0 || __builtin_mul_overflow(n, static_cast<std::size_t>(d), &n) ||
        __builtin_mul_overflow(bytes, static_cast<std::size_t>(d), &bytes))
      throw BadInput(std::string(option) + ": output of shape " + shape_string(shape) +
                     " is too large");
  return n;
}

// One output: its staged file, shape and element type; the data is written by the caller.
struct PendingOutput {
  StagedFile file;
  npy::Type type;
  std::vector<std::int64_t> shape;

  void write(const void* data, std::size_t bytes) {
    file.write(npy::encode_header(type, shape));
    file.write({static_cast<const std::uint8_t*>(data), bytes});
  }
};

// Rejects two outputs naming one file: the second rename would silently replace the first.
void check_distinct(const std::vector<OutputSpec>& outputs) {
  const auto canonical = [](const std::string& p) {
    std::error_code ec;
    fs::path abs = fs::absolute(p, ec);
    if (ec) return fs::path(p);
    fs::path c = fs::weakly_canonical(abs, ec);
    return ec ? abs : c;
  };
  for (std::size_t i = 0; i < outputs.size(); ++i)
    for (std::size_t j = 0; j < i; ++j)
      if (canonical(outputs[i].path) == canonical(outputs[j].path))
        throw BadInput(std::string(outputs[j].option) + " and " + outputs[i].option +
                       " name the same file '" + outputs[i].path + "'");
}

StagedFile stage(const OutputSpec& spec) {
  // Caught here rather than at the final rename, so no work is done for an unusable path.
  std::error_code ec;
  if (fs::is_directory(spec.path, ec))
    throw BadInput(std::string(spec.option) + " '" + spec.path + "' is a directory");
  try {
    return StagedFile(spec.path);
  } catch (const std::system_error& e) {
    throw BadInput(std::string(spec.option) + ": " + e.what());
  }
}

// Renames every staged file into place; if one rename fails, removes those already renamed
// so that no partial set of outputs is left.
void commit_all(std::vector<StagedFile>& files) {
  std::size_t done = 0;
  try {
    for (; done < files.size(); ++done) files[done].commit();
  } catch (...) {
    for (std::size_t i = 0; i < done; ++i) {
      std::error_code ec;
      fs::remove(files[i].target(), ec);
    }
    throw;
  }
}

// What ran and how long it took, in the demo's "label:  value" lines. One call is all `run`
// makes, so its time includes pipeline compilation (on llvmpipe partly at the first dispatch,
// inside the device time) and allocations.
void print_stats(const Context& ctx) {
  const DeviceInfo& dev = ctx.device();
  const CallStats stats = ctx.last_call_stats();
  if (dev.backend == Backend::vulkan)
    std::printf("device:  [%u] %s\n", dev.index, dev.name.c_str());
  else
    std::printf("device:  the CPU backend (%s, %u threads)\n", dev.name.c_str(), dev.threads);
  std::printf("plan:    %s\n", stats.plan.reason.c_str());
  // A first call: not a benchmark (vkattn_bench is), and the line says so.
  if (stats.gpu_seconds)
    std::printf(
        "time:    %.3f ms host, %.3f ms on the device (a first call: kernel compilation "
        "and allocations included)\n",
        stats.host_seconds * 1e3, *stats.gpu_seconds * 1e3);
  else
    std::printf("time:    %.3f ms host (a first call: allocations included)\n",
                stats.host_seconds * 1e3);
}

}  // namespace

int run_command(const RunArgs& args) {
  RunInputs in = load_run_inputs(args);
  const AttentionDesc& d = in.desc;

  std::vector<OutputSpec> specs{{"--out", args.out}};
  if (args.lse_out) specs.push_back({"--lse-out", *args.lse_out});
  if (args.probs_out) specs.push_back({"--probs-out", *args.probs_out});
  check_distinct(specs);

  const std::vector<std::int64_t> out_shape = in.out_shape();
  const std::vector<std::int64_t> lse_shape{d.batch, d.heads_q, d.len_q};
  const std::vector<std::int64_t> probs_shape{d.batch, d.heads_q, d.len_q, d.len_kv};
  // The output keeps q's storage type, so it is raw bytes the library fills through a view.
  std::vector<std::uint8_t> out(element_count(out_shape, size_of(d.dtype), "--out") *
                                size_of(d.dtype));
  std::vector<float> lse(args.lse_out ? element_count(lse_shape, 4, "--lse-out") : 0);
  std::vector<float> probs(args.probs_out ? element_count(probs_shape, 4, "--probs-out") : 0);

  std::vector<PendingOutput> pending;
  pending.reserve(specs.size());
  pending.push_back({stage(specs[0]), in.q.type, out_shape});
  if (args.lse_out) pending.push_back({stage(specs[1]), npy::Type::f32, lse_shape});
  if (args.probs_out) pending.push_back({stage(specs.back()), npy::Type::f32, probs_shape});

  Context ctx = Context::create(make_options(args.device));
  AttentionOutputs outputs;
  static std::uint64_t no_elements = 0;  // a view's data must not be null, even when empty
  void* out_data = out.empty() ? static_cast<void*>(&no_elements) : out.data();
  const std::int64_t dv = *d.head_dim_v;
  outputs.out = in.blhd
                    ? MutableTensorView::blhd(out_data, d.dtype, d.batch, d.heads_q, d.len_q, dv)
                    : MutableTensorView::bhld(out_data, d.dtype, d.batch, d.heads_q, d.len_q, dv);
  outputs.lse = lse;
  outputs.probs = probs;
  ctx.attention(d, in.views(), outputs);

  pending[0].write(out.data(), out.size());
  std::size_t next = 1;
  if (args.lse_out) pending[next++].write(lse.data(), lse.size() * sizeof(float));
  if (args.probs_out) pending[next++].write(probs.data(), probs.size() * sizeof(float));
  std::vector<StagedFile> files;
  files.reserve(pending.size());
  for (auto& p : pending) files.push_back(std::move(p.file));
  commit_all(files);
  if (args.stats) print_stats(ctx);
  return kExitOk;
}

}  // namespace vkattn::cli
