// SPDX-License-Identifier: MIT
// The C API (include/vkattn/vkattn.h): a thin translation onto vkattn::Context. It owns no
// semantics: it converts C structs to the C++ types, lets the C++ validation judge them, and
// turns every exception into a status plus a thread-local message.
#include "vkattn/vkattn.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <exception>
#include <new>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "capi/capi_common.hpp"
#include "vkattn/vkattn.hpp"

namespace {

using vkattn::ErrorCode;
using namespace vkattn::capi;

// The message of the last failure on this thread. `t_text` points into `t_message`, or at a
// literal when storing the message itself ran out of memory.
thread_local std::string t_message;
thread_local const char* t_text = "";
// The reasons handed out by vkattn_plan_attention and vkattn_last_call_stats (vkattn.h: valid
// until the same function runs again on this thread). Per thread, so that threads sharing a
// context never overwrite each other's.
thread_local std::string t_plan_reason;
thread_local std::string t_stats_reason;

void set_message(const char* text) noexcept {
  try {
    t_message.assign(text);
    t_text = t_message.c_str();
  } catch (...) {
    t_text = "vkattn: out_of_memory: could not store the error message";
  }
}

vkattn_status to_status(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::invalid_argument: return VKATTN_INVALID_ARGUMENT;
    case ErrorCode::unsupported: return VKATTN_UNSUPPORTED;
    case ErrorCode::out_of_memory: return VKATTN_OUT_OF_MEMORY;
    case ErrorCode::device_lost: return VKATTN_DEVICE_LOST;
    case ErrorCode::vulkan_error: return VKATTN_VULKAN_ERROR;
    case ErrorCode::internal: return VKATTN_INTERNAL;
  }
  return VKATTN_INTERNAL;
}

// True when a caller's struct (of `struct_size` bytes) contains the member at `offset` of
// `size` bytes: callers built against an older header pass smaller structs.
bool covers(std::uint32_t struct_size, std::size_t offset, std::size_t size) {
  return struct_size >= offset + size;
}

// C enums arrive as plain integers: anything outside the list is refused by name.
[[noreturn]] void bad_enum(const std::string& field, long long value, const char* type) {
  invalid(field + "=" + std::to_string(value) + " is not a " + type);
}

vkattn::DType to_dtype(vkattn_dtype t, const std::string& field) {
  switch (t) {
    case VKATTN_DTYPE_F32: return vkattn::DType::f32;
    case VKATTN_DTYPE_F16: return vkattn::DType::f16;
    case VKATTN_DTYPE_BF16: return vkattn::DType::bf16;
    case VKATTN_DTYPE_BOOL: return vkattn::DType::boolean;
    default: bad_enum(field, t, "vkattn_dtype");
  }
}

vkattn::Causal to_causal(vkattn_causal c) {
  switch (c) {
    case VKATTN_CAUSAL_NONE: return vkattn::Causal::none;
    case VKATTN_CAUSAL_TOP_LEFT: return vkattn::Causal::top_left;
    case VKATTN_CAUSAL_BOTTOM_RIGHT: return vkattn::Causal::bottom_right;
    default: bad_enum("causal", c, "vkattn_causal");
  }
}

vkattn::Backend to_backend(vkattn_backend b) {
  switch (b) {
    case VKATTN_BACKEND_AUTO: return vkattn::Backend::automatic;
    case VKATTN_BACKEND_VULKAN: return vkattn::Backend::vulkan;
    case VKATTN_BACKEND_CPU: return vkattn::Backend::cpu;
    default: bad_enum("options->backend", b, "vkattn_backend");
  }
}

vkattn::Kernel to_kernel(vkattn_kernel k) {
  switch (k) {
    case VKATTN_KERNEL_AUTO: return vkattn::Kernel::automatic;
    case VKATTN_KERNEL_THREE_PASS: return vkattn::Kernel::three_pass;
    case VKATTN_KERNEL_FLASH: return vkattn::Kernel::flash;
    case VKATTN_KERNEL_SPLIT_KV: return vkattn::Kernel::split_kv;
    default: bad_enum("options->kernel", k, "vkattn_kernel");
  }
}

vkattn::Options options_from(const vkattn_options& o) {
  require_size(o, "options");
  vkattn::Options options;
  options.backend = to_backend(o.backend);
  if (o.device != nullptr) options.device = o.device;
  options.kernel = to_kernel(o.kernel);
  options.validation = o.validation != 0;
  if (o.on_validation_message != nullptr) {
    // The C callback wants a NUL-terminated string; the C++ one gets a string_view.
    options.on_validation_message = [cb = o.on_validation_message,
                                     user = o.user_data](std::string_view message) {
      const std::string text(message);
      cb(text.c_str(), user);
    };
  }
  return o.use_environment != 0 ? vkattn::Options::from_environment(std::move(options)) : options;
}

// Names are the C field names, e.g. "q", so messages read "q.dtype=9 is not a vkattn_dtype".
template <class View>
View to_view(const vkattn_tensor& t, const std::string& name) {
  View v;
  v.data = t.data;
  v.dtype = to_dtype(t.dtype, name + ".dtype");
  std::copy(std::begin(t.shape), std::end(t.shape), v.shape.begin());
  std::copy(std::begin(t.strides), std::end(t.strides), v.strides.begin());
  v.extent = t.extent;
  return v;
}

// A (pointer, count) pair must agree: both absent or both present.
template <class T>
std::span<T> to_span(T* data, std::size_t count, const char* data_name, const char* count_name) {
  if ((data == nullptr) != (count == 0)) {
    invalid(std::string(data_name) + (data == nullptr ? " is NULL" : " is not NULL") + " but " +
            count_name + "=" + std::to_string(count));
  }
  return data == nullptr ? std::span<T>() : std::span<T>(data, count);
}

vkattn_kernel from_kernel(vkattn::Kernel k) noexcept {
  switch (k) {
    case vkattn::Kernel::automatic: return VKATTN_KERNEL_AUTO;
    case vkattn::Kernel::three_pass: return VKATTN_KERNEL_THREE_PASS;
    case vkattn::Kernel::flash: return VKATTN_KERNEL_FLASH;
    case vkattn::Kernel::split_kv: return VKATTN_KERNEL_SPLIT_KV;
  }
  return VKATTN_KERNEL_AUTO;
}

}  // namespace

namespace vkattn::capi {

void clear_message() noexcept { t_text = ""; }

vkattn_status status_of_current_exception() noexcept {
  try {
    throw;
  } catch (const vkattn::Error& e) {
    set_message(e.what());
    return to_status(e.code());
  } catch (const std::bad_alloc&) {
    set_message("vkattn: out_of_memory: host allocation failed");
    return VKATTN_OUT_OF_MEMORY;
  } catch (const std::exception& e) {
    set_message("vkattn: internal: unexpected exception");
    try {
      t_message += std::string(": ") + e.what();
      t_text = t_message.c_str();
    } catch (...) {  // keep the shorter message already stored
    }
    return VKATTN_INTERNAL;
  } catch (...) {
    set_message("vkattn: internal: unknown exception");
    return VKATTN_INTERNAL;
  }
}

[[noreturn]] void invalid(const std::string& message) {
  throw vkattn::Error(ErrorCode::invalid_argument, message);
}

void require(const void* p, const char* name) {
  if (p == nullptr) invalid(std::string(name) + " is NULL");
}

Options to_options(const vkattn_options* options) {
  if (options != nullptr) return options_from(*options);
  vkattn_options defaults;
  vkattn_options_init(&defaults);
  return options_from(defaults);
}

AttentionDesc to_desc(const vkattn_attention_desc& d) {
  require_size(d, "desc");
  AttentionDesc desc;
  desc.batch = d.batch;
  desc.heads_q = d.heads_q;
  // Sentinels documented in vkattn.h stand for the C++ std::nullopt.
  if (d.heads_kv != 0) desc.heads_kv = d.heads_kv;
  desc.len_q = d.len_q;
  desc.len_kv = d.len_kv;
  desc.head_dim = d.head_dim;
  if (d.head_dim_v != 0) desc.head_dim_v = d.head_dim_v;
  if (!std::isnan(d.scale)) desc.scale = d.scale;
  desc.dtype = to_dtype(d.dtype, "dtype");
  desc.causal = to_causal(d.causal);
  desc.window_left = d.window_left;
  desc.window_right = d.window_right;
  desc.softcap = d.softcap;
  return desc;
}

// Fills `out` from `plan`; the reason is copied into `storage` (thread-local, see above).
void to_c_plan(const Plan& plan, std::string& storage, vkattn_plan& out) {
  storage = plan.reason;
  out.kernel = from_kernel(plan.kernel);
  out.reason = storage.c_str();
  out.rows_per_chunk = plan.rows_per_chunk;
  out.workspace_bytes = plan.workspace_bytes;
}

}  // namespace vkattn::capi

extern "C" {

void vkattn_options_init(vkattn_options* options) {
  if (options == nullptr) return;
  *options = defaults_with_size<vkattn_options>();
  options->backend = VKATTN_BACKEND_AUTO;
  options->kernel = VKATTN_KERNEL_AUTO;
}

void vkattn_attention_desc_init(vkattn_attention_desc* desc) {
  if (desc == nullptr) return;
  *desc = defaults_with_size<vkattn_attention_desc>();
  desc->dtype = VKATTN_DTYPE_F32;
  desc->batch = 1;
  desc->heads_q = 1;
  desc->scale = std::nanf("");
  desc->causal = VKATTN_CAUSAL_NONE;
  desc->window_left = -1;
  desc->window_right = -1;
}

void vkattn_inputs_init(vkattn_inputs* inputs) {
  if (inputs != nullptr) *inputs = defaults_with_size<vkattn_inputs>();
}

void vkattn_outputs_init(vkattn_outputs* outputs) {
  if (outputs != nullptr) *outputs = defaults_with_size<vkattn_outputs>();
}

vkattn_tensor vkattn_tensor_bhld(void* data, vkattn_dtype dtype, int64_t b, int64_t h, int64_t l,
                                 int64_t d) {
  return {data, dtype, {b, h, l, d}, {h * l * d, l * d, d, 1}, static_cast<size_t>(b * h * l * d)};
}

vkattn_tensor vkattn_tensor_blhd(void* data, vkattn_dtype dtype, int64_t b, int64_t h, int64_t l,
                                 int64_t d) {
  return {data, dtype, {b, h, l, d}, {l * h * d, d, h * d, 1}, static_cast<size_t>(b * h * l * d)};
}

vkattn_status vkattn_context_create(const vkattn_options* options, vkattn_context** out) {
  return guarded([&] {
    require(out, "out");
    *out = nullptr;
    vkattn::Context context = vkattn::Context::create(to_options(options));
    *out = new vkattn_context{std::move(context)};
  });
}

void vkattn_context_destroy(vkattn_context* ctx) { delete ctx; }

const char* vkattn_device_name(const vkattn_context* ctx) {
  return ctx == nullptr ? nullptr : ctx->context.device().name.c_str();
}

vkattn_backend vkattn_context_backend(const vkattn_context* ctx) {
  if (ctx == nullptr) return VKATTN_BACKEND_AUTO;
  return ctx->context.device().backend == vkattn::Backend::vulkan ? VKATTN_BACKEND_VULKAN
                                                                  : VKATTN_BACKEND_CPU;
}

vkattn_status vkattn_attention(vkattn_context* ctx, const vkattn_attention_desc* desc,
                               const vkattn_inputs* inputs, const vkattn_outputs* outputs) {
  return guarded([&] {
    require(ctx, "ctx");
    require(desc, "desc");
    require(inputs, "inputs");
    require(outputs, "outputs");
    // Version 1 of vkattn_inputs ended before kv_cache.
    require_size(*inputs, "inputs", offsetof(vkattn_inputs, kv_cache));
    require_size(*outputs, "outputs");

    vkattn::AttentionInputs in;
    in.q = to_view<vkattn::TensorView>(inputs->q, "q");
    in.k = to_view<vkattn::TensorView>(inputs->k, "k");
    in.v = to_view<vkattn::TensorView>(inputs->v, "v");
    if (inputs->mask != nullptr) in.mask = to_view<vkattn::TensorView>(*inputs->mask, "mask");
    in.kv_lens = to_span(inputs->kv_lens, inputs->kv_lens_count, "kv_lens", "kv_lens_count");
    // The size of the pointer member itself is meant (clang-tidy flags any sizeof of a pointer
    // to a struct).
    const std::size_t kv_cache_size =
        sizeof(inputs->kv_cache);  // NOLINT(bugprone-sizeof-expression)
    if (covers(inputs->struct_size, offsetof(vkattn_inputs, kv_cache), kv_cache_size) &&
        inputs->kv_cache != nullptr) {
      in.kv_cache = &inputs->kv_cache->cache;
    }

    vkattn::AttentionOutputs out;
    out.out = to_view<vkattn::MutableTensorView>(outputs->out, "out");
    out.lse = to_span(outputs->lse, outputs->lse_count, "lse", "lse_count");
    out.probs = to_span(outputs->probs, outputs->probs_count, "probs", "probs_count");

    ctx->context.attention(to_desc(*desc), in, out);
  });
}

void vkattn_plan_init(vkattn_plan* plan) {
  if (plan == nullptr) return;
  *plan = defaults_with_size<vkattn_plan>();
  plan->kernel = VKATTN_KERNEL_AUTO;
  plan->reason = "";
}

void vkattn_call_stats_init(vkattn_call_stats* stats) {
  if (stats == nullptr) return;
  *stats = defaults_with_size<vkattn_call_stats>();
  stats->gpu_seconds = -1.0;
  vkattn_plan_init(&stats->plan);
}

vkattn_status vkattn_plan_attention(const vkattn_context* ctx, const vkattn_attention_desc* desc,
                                    int want_probs, vkattn_plan* out) {
  return guarded([&] {
    require(ctx, "ctx");
    require(desc, "desc");
    require(out, "out");
    require_size(*out, "out");
    const vkattn::Plan plan = ctx->context.plan(to_desc(*desc), want_probs != 0);
    to_c_plan(plan, t_plan_reason, *out);
  });
}

vkattn_status vkattn_last_call_stats(const vkattn_context* ctx, vkattn_call_stats* out) {
  return guarded([&] {
    require(ctx, "ctx");
    require(out, "out");
    require_size(*out, "out");
    require_size(out->plan, "out->plan");
    const vkattn::CallStats stats = ctx->context.last_call_stats();
    out->host_seconds = stats.host_seconds;
    out->gpu_seconds = stats.gpu_seconds.value_or(-1.0);
    to_c_plan(stats.plan, t_stats_reason, out->plan);
    // No call yet: C++ leaves the default-constructed Plan; C says so with AUTO.
    if (stats.plan.reason.empty()) out->plan.kernel = VKATTN_KERNEL_AUTO;
  });
}

void vkattn_kv_cache_desc_init(vkattn_kv_cache_desc* desc) {
  if (desc == nullptr) return;
  *desc = defaults_with_size<vkattn_kv_cache_desc>();
  desc->batch = 1;
  desc->heads_kv = 1;
}

vkattn_status vkattn_kv_cache_create(vkattn_context* ctx, const vkattn_kv_cache_desc* desc,
                                     vkattn_kv_cache** out) {
  return guarded([&] {
    require(out, "out");
    *out = nullptr;
    require(ctx, "ctx");
    require(desc, "desc");
    require_size(*desc, "desc");
    vkattn::KvCacheDesc d;
    d.batch = desc->batch;
    d.heads_kv = desc->heads_kv;
    d.capacity = desc->capacity;
    d.head_dim = desc->head_dim;
    if (desc->head_dim_v != 0) d.head_dim_v = desc->head_dim_v;  // 0 = head_dim (vkattn.h)
    d.dtype = to_dtype(desc->dtype, "desc.dtype");
    vkattn::KvCache cache = ctx->context.create_kv_cache(d);
    *out = new vkattn_kv_cache{std::move(cache)};
  });
}

void vkattn_kv_cache_destroy(vkattn_kv_cache* cache) { delete cache; }

vkattn_status vkattn_kv_cache_append(vkattn_kv_cache* cache, const vkattn_tensor* k,
                                     const vkattn_tensor* v) {
  return guarded([&] {
    require(cache, "cache");
    require(k, "k");
    require(v, "v");
    cache->cache.append(to_view<vkattn::TensorView>(*k, "k"), to_view<vkattn::TensorView>(*v, "v"));
  });
}

int64_t vkattn_kv_cache_length(const vkattn_kv_cache* cache) {
  return cache == nullptr ? 0 : cache->cache.length();
}

void vkattn_kv_cache_clear(vkattn_kv_cache* cache) {
  if (cache != nullptr) cache->cache.clear();
}

const char* vkattn_last_error_message(void) { return t_text; }

const char* vkattn_status_string(vkattn_status status) {
  switch (status) {
    case VKATTN_OK: return "ok";
    case VKATTN_INVALID_ARGUMENT: return "invalid_argument";
    case VKATTN_UNSUPPORTED: return "unsupported";
    case VKATTN_OUT_OF_MEMORY: return "out_of_memory";
    case VKATTN_DEVICE_LOST: return "device_lost";
    case VKATTN_VULKAN_ERROR: return "vulkan_error";
    case VKATTN_INTERNAL: return "internal";
    default: return "unknown";
  }
}

}  // extern "C"
