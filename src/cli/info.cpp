// SPDX-License-Identifier: MIT
// `vkattn info`: what the loader reports, which device a context would pick, and the limits
// the planner sizes kernels by — the first thing to look at when a kernel is slow or refused.
#include <cstdio>
#include <string>
#include <vector>

#include "cli/commands.hpp"
#include "vkattn/vkattn.hpp"

namespace vkattn::cli {

namespace {

std::string bytes_text(std::uint64_t b) {
  char buf[64];
  const auto value = static_cast<double>(b);
  if (b >= (std::uint64_t{1} << 30))
    std::snprintf(buf, sizeof buf, "%llu bytes (%.4g GiB)", static_cast<unsigned long long>(b),
                  value / 0x1p30);
  else if (b >= (std::uint64_t{1} << 20))
    std::snprintf(buf, sizeof buf, "%llu bytes (%.4g MiB)", static_cast<unsigned long long>(b),
                  value / 0x1p20);
  else if (b >= 1024)
    std::snprintf(buf, sizeof buf, "%llu bytes (%.4g KiB)", static_cast<unsigned long long>(b),
                  value / 0x1p10);
  else
    std::snprintf(buf, sizeof buf, "%llu bytes", static_cast<unsigned long long>(b));
  return buf;
}

const char* yes_no(bool b) { return b ? "yes" : "no"; }

void print_limits(const DeviceInfo& d) {
  if (d.backend == Backend::cpu) {
    std::printf("      worker threads            %u\n", d.threads);
    return;
  }
  std::printf("      subgroup size             %u\n", d.subgroup_size);
  std::printf("      shared memory             %s\n", bytes_text(d.max_shared_memory).c_str());
  std::printf("      max workgroup invocations %u\n", d.max_workgroup_invocations);
  std::printf("      maxStorageBufferRange     %s\n",
              bytes_text(d.max_storage_buffer_range).c_str());
  std::printf("      push constants            %u bytes\n", d.max_push_constants);
  // The limits on the one buffer the probabilities are read back through.
  std::printf("      maxBufferSize             %s\n",
              d.max_buffer_size != 0 ? bytes_text(d.max_buffer_size).c_str() : "not reported");
  std::printf("      maxMemoryAllocationSize   %s\n", bytes_text(d.max_allocation_size).c_str());
  std::printf("      host-visible heap         %s\n", bytes_text(d.host_visible_heap).c_str());
  std::printf("      shaderFloat16             %s\n", yes_no(d.shader_float16));
  std::printf("      16-bit storage            %s\n", yes_no(d.storage_16bit));
  if (d.timestamps)
    std::printf("      timestamps                yes (%.3g ns per tick)\n",
                static_cast<double>(d.timestamp_period_ns));
  else
    std::printf("      timestamps                no\n");
}

void print_device(const DeviceInfo& d) {
  if (d.backend == Backend::cpu) {
    std::printf("  cpu  %s (%s)\n", d.name.c_str(), d.type.c_str());
  } else {
    std::printf("  [%u] %s\n", d.index, d.name.c_str());
    std::printf("      type %s, driver %s, Vulkan %s, vendor 0x%04x\n", d.type.c_str(),
                d.driver.c_str(), d.api_version.c_str(), d.vendor_id);
  }
  print_limits(d);
}

}  // namespace

int info_command(const InfoArgs& args) {
  const Options options = make_options(args.device);
  const std::vector<DeviceInfo> devices = Context::list_devices();
  std::printf("vkattn %s\n\n", VKATTN_VERSION_STRING);
  if (devices.empty()) {
    std::printf(
        "Vulkan devices: none found (no Vulkan loader or driver); the CPU backend is used.\n\n");
  } else {
    std::printf("Vulkan devices (%zu):\n", devices.size());
    for (const auto& d : devices) print_device(d);
    std::printf("\n");
  }
  std::fflush(stdout);

  // Create the context the other commands would, so `info` also shows what `auto` (or the
  // backend/device flags and VKATTN_* variables) resolve to.
  const Context ctx = Context::create(options);
  const DeviceInfo& chosen = ctx.device();
  const bool automatic = options.backend == Backend::automatic && options.device.empty();
  std::printf("%s: ", automatic ? "auto chooses" : "selected");
  if (chosen.backend == Backend::cpu) {
    std::printf("the CPU backend (%s, %u threads)%s\n", chosen.name.c_str(), chosen.threads,
                devices.empty() ? ": no Vulkan device" : "");
  } else {
    std::printf("[%u] %s (%s, driver %s)\n", chosen.index, chosen.name.c_str(), chosen.type.c_str(),
                chosen.driver.c_str());
  }
  std::printf(
      "kernel: %s%s\n", to_string(options.kernel),
      options.kernel == Kernel::automatic ? " (the planner chooses per problem)" : " (forced)");
  if (options.validation) std::printf("validation layer: on\n");
  return kExitOk;
}

}  // namespace vkattn::cli
