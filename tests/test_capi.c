/* SPDX-License-Identifier: MIT */
/* The C half of the C API test, compiled as C99 so the header is exercised by a C compiler
   exactly as a C caller sees it. test_capi_cpp.cpp drives these functions. */
#include "test_capi.h"

#include <math.h>
#include <string.h>

#include "vkattn/vkattn.h"

static vkattn_context* cpu_context(void) {
  vkattn_options options;
  vkattn_context* ctx = NULL;
  vkattn_options_init(&options);
  options.backend = VKATTN_BACKEND_CPU;
  return vkattn_context_create(&options, &ctx) == VKATTN_OK ? ctx : NULL;
}

static vkattn_tensor view(const float* data, int blhd, int64_t b, int64_t h, int64_t l, int64_t d) {
  /* Inputs are only read; the C tensor type has one non-const data pointer for both. */
  void* p = (void*)data;
  return blhd ? vkattn_tensor_blhd(p, VKATTN_DTYPE_F32, b, h, l, d)
              : vkattn_tensor_bhld(p, VKATTN_DTYPE_F32, b, h, l, d);
}

int capi_run(const capi_case* c, const float* q, const float* k, const float* v,
             const int32_t* kv_lens, float* out, float* lse) {
  vkattn_context* ctx = cpu_context();
  vkattn_attention_desc desc;
  vkattn_inputs in;
  vkattn_outputs outs;
  const int64_t hkv = c->hkv != 0 ? c->hkv : c->hq;
  const int64_t dv = c->dv != 0 ? c->dv : c->dk;
  vkattn_status status;
  if (ctx == NULL) return -1;

  vkattn_attention_desc_init(&desc);
  desc.batch = c->b;
  desc.heads_q = c->hq;
  desc.heads_kv = c->hkv;
  desc.len_q = c->lq;
  desc.len_kv = c->lkv;
  desc.head_dim = c->dk;
  desc.head_dim_v = c->dv;
  desc.scale = c->scale;
  desc.causal = (vkattn_causal)c->causal;

  vkattn_inputs_init(&in);
  in.q = view(q, c->blhd, c->b, c->hq, c->lq, c->dk);
  in.k = view(k, c->blhd, c->b, hkv, c->lkv, c->dk);
  in.v = view(v, c->blhd, c->b, hkv, c->lkv, dv);
  if (c->use_kv_lens) {
    in.kv_lens = kv_lens;
    in.kv_lens_count = (size_t)c->b;
  }
  vkattn_outputs_init(&outs);
  outs.out = c->blhd ? vkattn_tensor_blhd(out, VKATTN_DTYPE_F32, c->b, c->hq, c->lq, dv)
                     : vkattn_tensor_bhld(out, VKATTN_DTYPE_F32, c->b, c->hq, c->lq, dv);
  if (lse != NULL) {
    outs.lse = lse;
    outs.lse_count = (size_t)(c->b * c->hq * c->lq);
  }
  status = vkattn_attention(ctx, &desc, &in, &outs);
  vkattn_context_destroy(ctx);
  return (int)status;
}

/* --- error paths ------------------------------------------------------------------------ */

enum { B = 1, H = 2, L = 3, D = 4, N = B * H * L * D };

/* A valid call on static buffers, for the checks to break one field at a time. */
typedef struct valid_call {
  float q[N], k[N], v[N], out[N], lse[B * H * L];
  vkattn_attention_desc desc;
  vkattn_inputs in;
  vkattn_outputs outs;
} valid_call;

static void make_valid(valid_call* c) {
  int i;
  for (i = 0; i < N; ++i) {
    c->q[i] = c->k[i] = c->v[i] = (float)i / N;
    c->out[i] = -7.0f; /* a sentinel: failed calls must not write */
  }
  vkattn_attention_desc_init(&c->desc);
  c->desc.batch = B;
  c->desc.heads_q = H;
  c->desc.len_q = L;
  c->desc.len_kv = L;
  c->desc.head_dim = D;
  vkattn_inputs_init(&c->in);
  c->in.q = vkattn_tensor_bhld(c->q, VKATTN_DTYPE_F32, B, H, L, D);
  c->in.k = vkattn_tensor_bhld(c->k, VKATTN_DTYPE_F32, B, H, L, D);
  c->in.v = vkattn_tensor_bhld(c->v, VKATTN_DTYPE_F32, B, H, L, D);
  vkattn_outputs_init(&c->outs);
  c->outs.out = vkattn_tensor_bhld(c->out, VKATTN_DTYPE_F32, B, H, L, D);
}

static int message_has(const char* needle) {
  return strstr(vkattn_last_error_message(), needle) != NULL;
}

/* The status is `want` and the message names `needle`. */
static int failed_with(vkattn_status got, vkattn_status want, const char* needle) {
  return got == want && message_has(needle);
}

static int out_untouched(const valid_call* c) {
  int i;
  for (i = 0; i < N; ++i) {
    if (c->out[i] != -7.0f) return 0;
  }
  return 1;
}

const char* capi_check_null_arguments(void) {
  static valid_call c;
  vkattn_context* ctx;
  const char* result = NULL;
  if (!failed_with(vkattn_context_create(NULL, NULL), VKATTN_INVALID_ARGUMENT, "out is NULL"))
    return "vkattn_context_create(NULL, NULL) did not report 'out is NULL'";
  ctx = cpu_context();
  if (ctx == NULL) return "could not create a CPU context";
  make_valid(&c);
  if (!failed_with(vkattn_attention(NULL, &c.desc, &c.in, &c.outs), VKATTN_INVALID_ARGUMENT,
                   "ctx is NULL"))
    result = "NULL ctx not reported";
  else if (!failed_with(vkattn_attention(ctx, NULL, &c.in, &c.outs), VKATTN_INVALID_ARGUMENT,
                        "desc is NULL"))
    result = "NULL desc not reported";
  else if (!failed_with(vkattn_attention(ctx, &c.desc, NULL, &c.outs), VKATTN_INVALID_ARGUMENT,
                        "inputs is NULL"))
    result = "NULL inputs not reported";
  else if (!failed_with(vkattn_attention(ctx, &c.desc, &c.in, NULL), VKATTN_INVALID_ARGUMENT,
                        "outputs is NULL"))
    result = "NULL outputs not reported";
  else {
    c.outs.lse_count = 6; /* a count without its pointer */
    if (!failed_with(vkattn_attention(ctx, &c.desc, &c.in, &c.outs), VKATTN_INVALID_ARGUMENT,
                     "lse is NULL but lse_count=6"))
      result = "lse NULL with lse_count 6 not reported";
    c.outs.lse_count = 0;
    c.in.q.data = NULL;
    if (result == NULL && !failed_with(vkattn_attention(ctx, &c.desc, &c.in, &c.outs),
                                       VKATTN_INVALID_ARGUMENT, "q.data"))
      result = "NULL q.data not reported";
  }
  if (result == NULL && !out_untouched(&c)) result = "a failed call wrote the output";
  vkattn_context_destroy(ctx);
  return result;
}

const char* capi_check_bad_shape(void) {
  static valid_call c;
  vkattn_context* ctx = cpu_context();
  const char* result = NULL;
  if (ctx == NULL) return "could not create a CPU context";
  make_valid(&c);
  c.in.k.shape[1] = H + 1; /* K's heads disagree with the description */
  if (!failed_with(vkattn_attention(ctx, &c.desc, &c.in, &c.outs), VKATTN_INVALID_ARGUMENT,
                   "k.shape[1]=3"))
    result = "k.shape[1] mismatch not reported by name";
  make_valid(&c);
  c.desc.heads_q = 0;
  if (result == NULL && !failed_with(vkattn_attention(ctx, &c.desc, &c.in, &c.outs),
                                     VKATTN_INVALID_ARGUMENT, "heads_q=0"))
    result = "heads_q=0 not reported by name";
  make_valid(&c);
  c.desc.head_dim = 100000; /* well-formed but past the kernels' limit */
  c.in.q.shape[3] = c.in.k.shape[3] = 100000;
  if (result == NULL && !failed_with(vkattn_attention(ctx, &c.desc, &c.in, &c.outs),
                                     VKATTN_UNSUPPORTED, "head_dim=100000"))
    result = "head_dim=100000 not reported as unsupported";
  if (result == NULL && !out_untouched(&c)) result = "a failed call wrote the output";
  vkattn_context_destroy(ctx);
  return result;
}

const char* capi_check_bad_enums_and_sizes(void) {
  static valid_call c;
  vkattn_options options;
  vkattn_context* ctx = NULL;
  const char* result = NULL;
  vkattn_options_init(&options);
  options.backend = (vkattn_backend)7;
  if (!failed_with(vkattn_context_create(&options, &ctx), VKATTN_INVALID_ARGUMENT,
                   "options->backend=7") ||
      ctx != NULL)
    return "options->backend=7 not reported by name";
  vkattn_options_init(&options);
  options.struct_size = 4;
  if (!failed_with(vkattn_context_create(&options, &ctx), VKATTN_INVALID_ARGUMENT,
                   "options->struct_size=4"))
    return "options->struct_size=4 not reported";

  ctx = cpu_context();
  if (ctx == NULL) return "could not create a CPU context";
  make_valid(&c);
  c.in.q.dtype = (vkattn_dtype)42;
  if (!failed_with(vkattn_attention(ctx, &c.desc, &c.in, &c.outs), VKATTN_INVALID_ARGUMENT,
                   "q.dtype=42"))
    result = "q.dtype=42 not reported by name";
  make_valid(&c);
  c.desc.causal = (vkattn_causal)9;
  if (result == NULL && !failed_with(vkattn_attention(ctx, &c.desc, &c.in, &c.outs),
                                     VKATTN_INVALID_ARGUMENT, "causal=9"))
    result = "causal=9 not reported by name";
  make_valid(&c);
  c.desc.struct_size = 0;
  if (result == NULL && !failed_with(vkattn_attention(ctx, &c.desc, &c.in, &c.outs),
                                     VKATTN_INVALID_ARGUMENT, "desc->struct_size=0"))
    result = "desc->struct_size=0 not reported";
  if (result == NULL && !out_untouched(&c)) result = "a failed call wrote the output";
  vkattn_context_destroy(ctx);
  return result;
}

const char* capi_check_message_cleared_on_success(void) {
  static valid_call c;
  vkattn_context* ctx = cpu_context();
  const char* result = NULL;
  if (ctx == NULL) return "could not create a CPU context";
  make_valid(&c);
  (void)vkattn_attention(NULL, &c.desc, &c.in, &c.outs);
  if (vkattn_last_error_message()[0] == '\0')
    result = "no message after a failure";
  else if (vkattn_attention(ctx, &c.desc, &c.in, &c.outs) != VKATTN_OK)
    result = "the valid call failed";
  else if (vkattn_last_error_message()[0] != '\0')
    result = "message not cleared by a successful call";
  else if (out_untouched(&c))
    result = "the valid call wrote nothing";
  vkattn_context_destroy(ctx);
  return result;
}

const char* capi_check_context_queries(void) {
  vkattn_context* ctx = cpu_context();
  const char* result = NULL;
  const char* name;
  if (ctx == NULL) return "could not create a CPU context";
  name = vkattn_device_name(ctx);
  if (name == NULL || name[0] == '\0')
    result = "empty device name";
  else if (vkattn_context_backend(ctx) != VKATTN_BACKEND_CPU)
    result = "backend is not CPU";
  else if (vkattn_device_name(NULL) != NULL)
    result = "vkattn_device_name(NULL) is not NULL";
  else if (strcmp(vkattn_status_string(VKATTN_UNSUPPORTED), "unsupported") != 0 ||
           strcmp(vkattn_status_string((vkattn_status)99), "unknown") != 0)
    result = "vkattn_status_string";
  vkattn_context_destroy(ctx);
  vkattn_context_destroy(NULL); /* documented as a no-op */
  return result;
}

/* --- KV cache --------------------------------------------------------------------------- */

/* Runs c's call once with k and v from `cache` (its k and v zeroed) and returns the status. */
static vkattn_status attention_with_cache(vkattn_context* ctx, valid_call* c,
                                          const vkattn_kv_cache* cache) {
  vkattn_inputs in = c->in;
  memset(&in.k, 0, sizeof in.k);
  memset(&in.v, 0, sizeof in.v);
  in.kv_cache = cache;
  return vkattn_attention(ctx, &c->desc, &in, &c->outs);
}

/* A cache filled with c's K and V gives the same output as passing them as host views; the
   error paths name the problem and leave the cache as it was. */
static const char* kv_cache_checks(vkattn_context* ctx, vkattn_kv_cache* cache) {
  static valid_call c;
  float want[N];
  int i;
  vkattn_tensor one_row;
  make_valid(&c);
  if (vkattn_kv_cache_length(cache) != 0) return "a new cache is not empty";
  if (vkattn_kv_cache_append(cache, &c.in.k, &c.in.v) != VKATTN_OK) return "append failed";
  if (vkattn_kv_cache_length(cache) != L) return "length is not L after appending L rows";
  if (vkattn_attention(ctx, &c.desc, &c.in, &c.outs) != VKATTN_OK) return "host call failed";
  memcpy(want, c.out, sizeof want);
  for (i = 0; i < N; ++i) c.out[i] = -7.0f;
  if (attention_with_cache(ctx, &c, cache) != VKATTN_OK) return "call with the cache failed";
  for (i = 0; i < N; ++i) {
    if (fabsf(c.out[i] - want[i]) > 1e-6f) return "cache output differs from the host call";
  }

  /* Capacity 4 holds L=3 rows: one more row fits, a second append of L rows does not. */
  if (!failed_with(vkattn_kv_cache_append(cache, &c.in.k, &c.in.v), VKATTN_INVALID_ARGUMENT,
                   "capacity=4"))
    return "append past capacity not reported";
  if (vkattn_kv_cache_length(cache) != L) return "a failed append changed the length";
  if (!failed_with(vkattn_kv_cache_append(NULL, &c.in.k, &c.in.v), VKATTN_INVALID_ARGUMENT,
                   "cache is NULL"))
    return "NULL cache not reported";
  if (!failed_with(vkattn_kv_cache_append(cache, &c.in.k, NULL), VKATTN_INVALID_ARGUMENT,
                   "v is NULL"))
    return "NULL v not reported";
  one_row = vkattn_tensor_bhld(c.k, VKATTN_DTYPE_F32, B, H, 1, D);
  one_row.data = NULL;
  if (!failed_with(vkattn_kv_cache_append(cache, &one_row, &c.in.v), VKATTN_INVALID_ARGUMENT,
                   "k.data is null"))
    return "null k.data not reported";
  /* Passing k as well as the cache is ambiguous: refused. */
  c.in.kv_cache = cache;
  if (!failed_with(vkattn_attention(ctx, &c.desc, &c.in, &c.outs), VKATTN_INVALID_ARGUMENT,
                   "kv_cache is given"))
    return "k together with kv_cache not reported";
  c.in.kv_cache = NULL;

  vkattn_kv_cache_clear(cache);
  if (vkattn_kv_cache_length(cache) != 0) return "clear did not empty the cache";
  if (!failed_with(attention_with_cache(ctx, &c, cache), VKATTN_INVALID_ARGUMENT,
                   "kv_cache's length=0"))
    return "len_kv != length not reported";
  return NULL;
}

/* An f16 cache rounds the appended f32 rows (values i/N in [0, 1): error <= 2^-12 each), so
   the output moves by at most that much from the host call's. */
static const char* half_cache_check(vkattn_context* ctx, const vkattn_kv_cache_desc* f32_desc) {
  static valid_call c;
  float want[N];
  int i;
  vkattn_kv_cache_desc desc = *f32_desc;
  vkattn_kv_cache* cache = NULL;
  const char* result = NULL;
  desc.dtype = VKATTN_DTYPE_F16;
  make_valid(&c);
  if (vkattn_kv_cache_create(ctx, &desc, &cache) != VKATTN_OK) return "f16 cache create failed";
  if (vkattn_kv_cache_append(cache, &c.in.k, &c.in.v) != VKATTN_OK) result = "f16 append failed";
  if (result == NULL && vkattn_attention(ctx, &c.desc, &c.in, &c.outs) != VKATTN_OK)
    result = "host call failed";
  memcpy(want, c.out, sizeof want);
  if (result == NULL && attention_with_cache(ctx, &c, cache) != VKATTN_OK)
    result = "call with the f16 cache failed";
  for (i = 0; result == NULL && i < N; ++i) {
    if (fabsf(c.out[i] - want[i]) > 1e-3f) result = "f16 cache output is off by more than 1e-3";
  }
  vkattn_kv_cache_destroy(cache);
  return result;
}

const char* capi_check_kv_cache(void) {
  vkattn_context* ctx = cpu_context();
  vkattn_kv_cache_desc desc;
  vkattn_kv_cache* cache = NULL;
  const char* result;
  if (ctx == NULL) return "could not create a CPU context";
  vkattn_kv_cache_desc_init(&desc);
  desc.batch = B;
  desc.heads_kv = H;
  desc.capacity = 0;
  desc.head_dim = D;
  if (!failed_with(vkattn_kv_cache_create(ctx, &desc, &cache), VKATTN_INVALID_ARGUMENT,
                   "kv_cache.capacity=0") ||
      cache != NULL) {
    vkattn_context_destroy(ctx);
    return "capacity 0 not reported";
  }
  desc.capacity = L + 1;
  desc.dtype = VKATTN_DTYPE_BOOL;
  if (!failed_with(vkattn_kv_cache_create(ctx, &desc, &cache), VKATTN_INVALID_ARGUMENT,
                   "kv_cache.dtype=bool") ||
      cache != NULL) {
    vkattn_context_destroy(ctx);
    return "a bool kv_cache dtype not reported";
  }
  desc.dtype = (vkattn_dtype)7;
  if (!failed_with(vkattn_kv_cache_create(ctx, &desc, &cache), VKATTN_INVALID_ARGUMENT,
                   "desc.dtype=7") ||
      cache != NULL) {
    vkattn_context_destroy(ctx);
    return "an unknown kv_cache dtype not reported";
  }
  desc.dtype = VKATTN_DTYPE_F32;
  if (vkattn_kv_cache_create(ctx, &desc, &cache) != VKATTN_OK) {
    vkattn_context_destroy(ctx);
    return "vkattn_kv_cache_create failed";
  }
  result = kv_cache_checks(ctx, cache);
  if (result == NULL) result = half_cache_check(ctx, &desc);
  /* The cache keeps the backend alive: destroying the context first is allowed. */
  vkattn_context_destroy(ctx);
  if (result == NULL && vkattn_kv_cache_length(cache) != 0) result = "length changed";
  vkattn_kv_cache_destroy(cache);
  vkattn_kv_cache_destroy(NULL);
  vkattn_kv_cache_clear(NULL);
  if (result == NULL && vkattn_kv_cache_length(NULL) != 0) result = "NULL cache has a length";
  return result;
}

/* A caller built against version 1 of vkattn_inputs (without kv_cache) still works; the
   member past its struct_size is not read. */
const char* capi_check_inputs_version_1(void) {
  static valid_call c;
  vkattn_context* ctx = cpu_context();
  const char* result = NULL;
  if (ctx == NULL) return "could not create a CPU context";
  make_valid(&c);
  c.in.struct_size = (uint32_t)offsetof(vkattn_inputs, kv_cache);
  c.in.kv_cache = (const vkattn_kv_cache*)&c; /* garbage a v1 caller never wrote */
  if (vkattn_attention(ctx, &c.desc, &c.in, &c.outs) != VKATTN_OK)
    result = "a version-1 vkattn_inputs was refused";
  vkattn_context_destroy(ctx);
  return result;
}

/* --- plan and call stats ---------------------------------------------------------------- */

static void count_message(const char* message, void* user_data) {
  (void)message;
  ++*(int*)user_data;
}

/* True when `stats` is what a context reports before (or after a failed) call. */
static int stats_are_reset(const vkattn_call_stats* stats) {
  return stats->host_seconds == 0.0 && stats->gpu_seconds < 0.0 &&
         stats->plan.kernel == VKATTN_KERNEL_AUTO && stats->plan.reason != NULL &&
         stats->plan.reason[0] == '\0';
}

const char* capi_check_plan_and_stats(int backend, capi_plan_report* report) {
  static valid_call c;
  vkattn_options options;
  vkattn_context* ctx = NULL;
  vkattn_plan plan, probs_plan;
  vkattn_call_stats stats;
  const char* result = NULL;

  memset(report, 0, sizeof *report);
  vkattn_options_init(&options);
  options.backend = (vkattn_backend)backend;
  options.validation = backend == VKATTN_BACKEND_VULKAN;
  options.on_validation_message = count_message;
  options.user_data = &report->validation_messages;
  report->create_status = (int)vkattn_context_create(&options, &ctx);
  if (ctx == NULL) return "could not create the context";

  make_valid(&c);
  c.desc.heads_kv = 1; /* GQA 2:1 */
  c.in.k = vkattn_tensor_bhld(c.k, VKATTN_DTYPE_F32, B, 1, L, D);
  c.in.v = vkattn_tensor_bhld(c.v, VKATTN_DTYPE_F32, B, 1, L, D);
  vkattn_plan_init(&plan);
  vkattn_plan_init(&probs_plan);
  vkattn_call_stats_init(&stats);
  if (vkattn_last_call_stats(ctx, &stats) != VKATTN_OK) {
    result = "vkattn_last_call_stats failed before any call";
  } else if (!stats_are_reset(&stats)) {
    result = "stats before any call are not the documented empty ones";
  } else if (vkattn_plan_attention(ctx, &c.desc, 0, &plan) != VKATTN_OK) {
    result = "vkattn_plan_attention failed";
  } else if (plan.reason == NULL || plan.reason[0] == '\0' || plan.kernel == VKATTN_KERNEL_AUTO) {
    result = "the plan has no reason or no kernel";
  } else if (vkattn_attention(ctx, &c.desc, &c.in, &c.outs) != VKATTN_OK) {
    result = "the call failed";
  } else if (vkattn_last_call_stats(ctx, &stats) != VKATTN_OK) {
    result = "vkattn_last_call_stats failed after a call";
  } else if (!(stats.host_seconds > 0.0) || stats.plan.kernel != plan.kernel) {
    result = "the stats after a call lack the time or name another kernel than the plan";
  } else if (strcmp(stats.plan.reason, plan.reason) != 0) {
    result = "the stats' reason differs from the plan's";
  } else if (stats.plan.workspace_bytes != plan.workspace_bytes) {
    result = "the stats' workspace differs from the plan's";
  }
  report->kernel = (int)plan.kernel;
  if (plan.reason != NULL) {
    strncpy(report->reason, plan.reason, sizeof report->reason - 1);
  }
  if (result == NULL) {
    /* Another plan (another reason) must leave the stats' reason alone: each function keeps
       its own string. */
    if (vkattn_plan_attention(ctx, &c.desc, 1, &probs_plan) != VKATTN_OK)
      result = "vkattn_plan_attention with want_probs failed";
    else if (strcmp(probs_plan.reason, report->reason) == 0)
      result = "the plan with P has the same reason as the one without";
    else if (strcmp(stats.plan.reason, report->reason) != 0)
      result = "a later plan changed the stats' reason";
    report->probs_kernel = (int)probs_plan.kernel;
  }
  report->host_seconds = stats.host_seconds;
  report->gpu_seconds = stats.gpu_seconds;

  if (result == NULL) {
    c.in.v.shape[3] = D + 1; /* a bad call: v's head dim disagrees */
    if (vkattn_attention(ctx, &c.desc, &c.in, &c.outs) != VKATTN_INVALID_ARGUMENT)
      result = "a call with a bad v was not refused";
    else if (vkattn_last_call_stats(ctx, &stats) != VKATTN_OK || !stats_are_reset(&stats))
      result = "a failed call did not reset the stats";
  }
  vkattn_context_destroy(ctx);
  return result;
}

const char* capi_check_plan_and_stats_errors(void) {
  static valid_call c;
  vkattn_context* ctx = cpu_context();
  vkattn_plan plan;
  vkattn_call_stats stats;
  const char* result = NULL;
  if (ctx == NULL) return "could not create a CPU context";
  make_valid(&c);
  vkattn_plan_init(&plan);
  vkattn_call_stats_init(&stats);
  if (!failed_with(vkattn_plan_attention(NULL, &c.desc, 0, &plan), VKATTN_INVALID_ARGUMENT,
                   "ctx is NULL"))
    result = "plan: NULL ctx not reported";
  else if (!failed_with(vkattn_plan_attention(ctx, NULL, 0, &plan), VKATTN_INVALID_ARGUMENT,
                        "desc is NULL"))
    result = "plan: NULL desc not reported";
  else if (!failed_with(vkattn_plan_attention(ctx, &c.desc, 0, NULL), VKATTN_INVALID_ARGUMENT,
                        "out is NULL"))
    result = "plan: NULL out not reported";
  else if (!failed_with(vkattn_last_call_stats(NULL, &stats), VKATTN_INVALID_ARGUMENT,
                        "ctx is NULL"))
    result = "stats: NULL ctx not reported";
  else if (!failed_with(vkattn_last_call_stats(ctx, NULL), VKATTN_INVALID_ARGUMENT, "out is NULL"))
    result = "stats: NULL out not reported";
  if (result == NULL) {
    plan.struct_size = 0; /* never filled by vkattn_plan_init */
    if (!failed_with(vkattn_plan_attention(ctx, &c.desc, 0, &plan), VKATTN_INVALID_ARGUMENT,
                     "out->struct_size=0"))
      result = "plan: struct_size 0 not reported";
  }
  if (result == NULL) {
    stats.plan.struct_size = 0;
    if (!failed_with(vkattn_last_call_stats(ctx, &stats), VKATTN_INVALID_ARGUMENT,
                     "out->plan->struct_size=0"))
      result = "stats: the embedded plan's struct_size 0 not reported";
  }
  if (result == NULL) {
    vkattn_plan_init(&plan);
    c.desc.head_dim = 0;
    if (!failed_with(vkattn_plan_attention(ctx, &c.desc, 0, &plan), VKATTN_INVALID_ARGUMENT,
                     "head_dim"))
      result = "plan: head_dim 0 not reported by name";
    else if (plan.reason[0] != '\0')
      result = "a failed plan wrote its output";
  }
  vkattn_context_destroy(ctx);
  return result;
}
