// SPDX-License-Identifier: MIT
// The `vkattn` command: argument parsing only. Exit codes: 0 success, 2 bad input (including
// every argument error), 1 device or internal failure; `--help` exits 0.
#include <CLI/CLI.hpp>

#include <iostream>
#include <string>

#include "cli/commands.hpp"
#include "cli/errors.hpp"

namespace {

using namespace vkattn::cli;

// Stores an option's value only when it is given, so "absent" and "empty" stay distinct.
void optional_text(CLI::App* app, const std::string& name, std::optional<std::string>& target,
                   const std::string& help, const std::string& type = "NAME") {
  app->add_option_function<std::string>(
         name, [&target](const std::string& s) { target = s; }, help)
      ->type_name(type);
}

void device_options(CLI::App* app, DeviceArgs& d, bool with_kernel) {
  optional_text(app, "--backend", d.backend,
                "auto | vulkan | cpu (default: auto, or $VKATTN_BACKEND)");
  optional_text(app, "--device", d.device,
                "Vulkan device: index or name substring (default: the best one)", "D");
  if (with_kernel)
    optional_text(app, "--kernel", d.kernel,
                  "auto | three-pass | flash | split-kv (default: auto)");
  app->add_flag("--validation", d.validation,
                "enable the Khronos validation layer (messages go to stderr)");
}

constexpr const char* kRunFooter = R"(
Shapes (layout bhld; with --layout blhd the two middle dims of q, k, v and the output swap):
  q [B, Hq, Lq, Dk]   k [B, Hkv, Lkv, Dk]   v [B, Hkv, Lkv, Dv]   -> out [B, Hq, Lq, Dv]
  q, k, v: float32 or float16 (one dtype); the output has q's dtype and layout.
  --mask: bool (true = attend) or float32/float16 (added to the scores), rank 2, 3 or 4,
          ALWAYS in logical [B, Hq, Lq, Lkv] order whatever --layout says, broadcast numpy-style
          (leading dims prepended as 1; each dim equal to its target or 1).
  --kv-lens: int32 or int64 [B], each in [0, Lkv]; keys at index >= kv_lens[b] are ignored.
  --lse-out: float32 [B, Hq, Lq] (natural log; -inf for a row with no visible key).
  --probs-out: float32 [B, Hq, Lq, Lkv] (three-pass kernel).
Outputs are .npy version 1.0 and appear only when the whole call succeeds.
Exit codes: 0 success; 2 bad input (files, options, shapes, invalid description); 1 device or
internal failure.)";

}  // namespace

int main(int argc, char** argv) {
  try {
    CLI::App app{"vkattn: scaled-dot-product attention on any Vulkan GPU, with a CPU reference"};
    app.set_version_flag("--version", std::string("vkattn ") + VKATTN_VERSION_STRING);
    app.require_subcommand(1);

    InfoArgs info;
    CLI::App* info_cmd =
        app.add_subcommand("info", "list Vulkan devices, the one `auto` picks, and their limits");
    device_options(info_cmd, info.device, false);

    DemoArgs demo;
    CLI::App* demo_cmd = app.add_subcommand(
        "demo",
        "run one attention call with random inputs, check it against the CPU backend and time it");
    device_options(demo_cmd, demo.device, true);
    demo_cmd->add_option("--batch", demo.batch, "B")->capture_default_str();
    demo_cmd->add_option("--heads", demo.heads, "H")->capture_default_str();
    demo_cmd->add_option("--len", demo.len, "Lq = Lkv")->capture_default_str();
    demo_cmd->add_option("--dim", demo.dim, "head dim D")->capture_default_str();
    demo_cmd->add_option("--dtype", demo.dtype, "f32 | f16 | bf16")->capture_default_str();
    demo_cmd->add_option("--causal", demo.causal, "none | top-left | bottom-right")
        ->capture_default_str();

    RunArgs run;
    CLI::App* run_cmd =
        app.add_subcommand("run", "attention on .npy files: O = softmax(scale*QK^T + masks)*V");
    run_cmd->add_option("--q", run.q, "queries .npy")->required()->type_name("FILE");
    run_cmd->add_option("--k", run.k, "keys .npy")->required()->type_name("FILE");
    run_cmd->add_option("--v", run.v, "values .npy")->required()->type_name("FILE");
    run_cmd->add_option("--out", run.out, "output .npy")->required()->type_name("FILE");
    run_cmd->add_option("--layout", run.layout, "bhld | blhd: memory order of q, k, v and out")
        ->capture_default_str()
        ->type_name("NAME");
    optional_text(run_cmd, "--scale", run.scale, "multiplies QK^T (default 1/sqrt(Dk))", "S");
    optional_text(run_cmd, "--causal", run.causal, "none | top-left | bottom-right (default none)");
    optional_text(run_cmd, "--window", run.window, "LEFT,RIGHT sliding window, -1 = unbounded side",
                  "L,R");
    optional_text(run_cmd, "--mask", run.mask,
                  "bool or float mask .npy in logical [B, Hq, Lq, Lkv] order (see below)", "FILE");
    optional_text(run_cmd, "--kv-lens", run.kv_lens, "int32/int64 [B] key lengths .npy", "FILE");
    optional_text(run_cmd, "--softcap", run.softcap, "if > 0: s <- C*tanh(s/C) before masks", "C");
    optional_text(run_cmd, "--lse-out", run.lse_out,
                  "write the row log-sum-exp, float32 [B, Hq, Lq]", "FILE");
    optional_text(run_cmd, "--probs-out", run.probs_out,
                  "write the probabilities, float32 [B, Hq, Lq, Lkv]", "FILE");
    run_cmd->add_flag("--stats", run.stats,
                      "after the call, print the device, the plan it ran and its time");
    device_options(run_cmd, run.device, true);
    run_cmd->footer(kRunFooter);

    // CLI11 would report a mistyped command as "A subcommand is required"; name it instead.
    if (argc > 1 && argv[1][0] != '-') {
      const std::string word = argv[1];
      if (word != "info" && word != "demo" && word != "run")
        throw BadInput("unknown command '" + word + "': expected info, demo or run (see --help)");
    }
    try {
      app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
      if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success))
        return app.exit(e);  // --help, --version
      std::cerr << "vkattn: error: " << one_line(e.what()) << " (see --help)\n";
      return kExitBadInput;
    }

    if (info_cmd->parsed()) return info_command(info);
    if (demo_cmd->parsed()) return demo_command(demo);
    return run_command(run);
  } catch (...) {
    return report_current_exception();
  }
}
