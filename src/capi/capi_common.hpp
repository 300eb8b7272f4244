// SPDX-License-Identifier: MIT
#pragma once

// What the C API's translation units share (capi.cpp: vkattn.h; capi_vulkan.cpp:
// vkattn_vulkan.h): the opaque handles' definitions, the exception-to-status guard and the
// conversions of the C structs both headers use.

#include <cstddef>
#include <string>
#include <utility>

#include "vkattn/vkattn.h"
#include "vkattn/vkattn.hpp"

struct vkattn_context {
  vkattn::Context context;
};

struct vkattn_kv_cache {
  vkattn::KvCache cache;
};

namespace vkattn::capi {

// Forgets the last failure's message on this thread (a successful call reports "").
void clear_message() noexcept;

// Inside a catch block: stores the exception's message for vkattn_last_error_message() and
// returns its status.
vkattn_status status_of_current_exception() noexcept;

// Runs `f`, mapping every exception to a status: nothing may unwind into C.
template <class F>
vkattn_status guarded(F&& f) noexcept {
  clear_message();
  try {
    std::forward<F>(f)();
    return VKATTN_OK;
  } catch (...) {
    return status_of_current_exception();
  }
}

[[noreturn]] void invalid(const std::string& message);

// Error{invalid_argument} "<name> is NULL" for a null pointer.
void require(const void* p, const char* name);

// A struct from a caller built against this header or a newer one is at least this large;
// members added later will be read only when `struct_size` covers them. `minimum` is the
// size of the struct's first version (members added since are read only when present).
template <class T>
void require_size(const T& s, const char* name, std::size_t minimum = sizeof(T)) {
  if (s.struct_size < minimum) {
    invalid(std::string(name) + "->struct_size=" + std::to_string(s.struct_size) +
            " is smaller than " + std::to_string(minimum) + "; fill it with its _init function");
  }
}

template <class T>
T defaults_with_size() {
  T value{};
  value.struct_size = sizeof(T);
  return value;
}

// `options` NULL: the defaults of vkattn_options_init().
[[nodiscard]] Options to_options(const vkattn_options* options);
[[nodiscard]] AttentionDesc to_desc(const vkattn_attention_desc& d);

// Fills `out` from `plan`; the reason is copied into `storage`, which the caller keeps
// (thread-local: valid until the same function runs again on this thread).
void to_c_plan(const Plan& plan, std::string& storage, vkattn_plan& out);

}  // namespace vkattn::capi
