/* SPDX-License-Identifier: MIT */
#ifndef VKATTN_VKATTN_H_
#define VKATTN_VKATTN_H_

/**
 * @file
 * The C API: a C99 interface to the same library as the C++ API (vkattn/vkattn.hpp), for
 * callers in C and for language bindings (FFI).
 *
 * Conventions
 * - Every function that can fail returns a ::vkattn_status. On failure nothing has been
 *   written to the outputs, and vkattn_last_error_message() names the field and the value.
 * - No C++ exception crosses this interface.
 * - Structs that may grow carry `struct_size` as their first member. Fill them with their
 *   `*_init` function, which sets `struct_size` and every default; a library newer than the
 *   caller reads only the members that fit in `struct_size` and uses defaults for the rest.
 * - ::vkattn_tensor is frozen: its layout never changes.
 * - Enums are 32-bit (the `*_MAX_ENUM` entries only pin their size; they are not values).
 *
 * Minimal use:
 * @code
 *   vkattn_context* ctx = NULL;
 *   if (vkattn_context_create(NULL, &ctx) != VKATTN_OK) { puts(vkattn_last_error_message()); }
 *   vkattn_attention_desc desc;
 *   vkattn_attention_desc_init(&desc);
 *   desc.heads_q = 8; desc.len_q = 128; desc.len_kv = 128; desc.head_dim = 64;
 *   vkattn_inputs in;
 *   vkattn_inputs_init(&in);
 *   in.q = vkattn_tensor_bhld(q, VKATTN_DTYPE_F32, 1, 8, 128, 64);  // likewise k, v
 *   vkattn_outputs out;
 *   vkattn_outputs_init(&out);
 *   out.out = vkattn_tensor_bhld(o, VKATTN_DTYPE_F32, 1, 8, 128, 64);
 *   vkattn_status s = vkattn_attention(ctx, &desc, &in, &out);
 *   vkattn_context_destroy(ctx);
 * @endcode
 */

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Version of this C interface; bumped when a declaration is added. */
#define VKATTN_C_API_VERSION 4

/** Result of every fallible call. Mirrors vkattn::ErrorCode. */
typedef enum vkattn_status {
  VKATTN_OK = 0,               /**< Success. */
  VKATTN_INVALID_ARGUMENT = 1, /**< A null pointer, or a malformed description or view. */
  VKATTN_UNSUPPORTED = 2,      /**< Well-formed but not supported here (option, size limit). */
  VKATTN_OUT_OF_MEMORY = 3,    /**< A host or device allocation failed; the context is usable. */
  VKATTN_DEVICE_LOST = 4,      /**< The Vulkan device was lost; destroy and recreate the context. */
  VKATTN_VULKAN_ERROR = 5,     /**< Another failing VkResult; the message names call and result. */
  VKATTN_INTERNAL = 6,         /**< A bug in vkattn. */
  VKATTN_STATUS_MAX_ENUM = 0x7FFFFFFF /**< Not a value: keeps the enum 32-bit. */
} vkattn_status;

/** Storage type of a tensor (vkattn::DType). */
typedef enum vkattn_dtype {
  VKATTN_DTYPE_F32 = 0,  /**< IEEE binary32. */
  VKATTN_DTYPE_F16 = 1,  /**< IEEE binary16. */
  VKATTN_DTYPE_BF16 = 2, /**< bfloat16. */
  VKATTN_DTYPE_BOOL = 3, /**< One byte per element, non-zero = true; boolean masks only. */
  VKATTN_DTYPE_MAX_ENUM = 0x7FFFFFFF /**< Not a value: keeps the enum 32-bit. */
} vkattn_dtype;

/** Causal mask and the alignment of its diagonal (vkattn::Causal). */
typedef enum vkattn_causal {
  VKATTN_CAUSAL_NONE = 0,         /**< No causal mask. */
  VKATTN_CAUSAL_TOP_LEFT = 1,     /**< Key j visible to query i iff j <= i (PyTorch is_causal). */
  VKATTN_CAUSAL_BOTTOM_RIGHT = 2, /**< Key j visible iff j <= i + kv_len - len_q (KV caches). */
  VKATTN_CAUSAL_MAX_ENUM = 0x7FFFFFFF /**< Not a value: keeps the enum 32-bit. */
} vkattn_causal;

/** Which implementation runs the calls of a context (vkattn::Backend). */
typedef enum vkattn_backend {
  VKATTN_BACKEND_AUTO = 0,             /**< Best Vulkan device, else the CPU. */
  VKATTN_BACKEND_VULKAN = 1,           /**< Vulkan only; context creation fails without a device. */
  VKATTN_BACKEND_CPU = 2,              /**< The CPU fallback. */
  VKATTN_BACKEND_MAX_ENUM = 0x7FFFFFFF /**< Not a value: keeps the enum 32-bit. */
} vkattn_backend;

/** Kernel family on the Vulkan backend (vkattn::Kernel). */
typedef enum vkattn_kernel {
  VKATTN_KERNEL_AUTO = 0,             /**< The planner chooses. */
  VKATTN_KERNEL_THREE_PASS = 1,       /**< QK^T, softmax, PV; the only kernel that returns P. */
  VKATTN_KERNEL_FLASH = 2,            /**< Fused single pass with online softmax. */
  VKATTN_KERNEL_SPLIT_KV = 3,         /**< Split-KV decode partials plus a log-sum-exp combine. */
  VKATTN_KERNEL_MAX_ENUM = 0x7FFFFFFF /**< Not a value: keeps the enum 32-bit. */
} vkattn_kernel;

/**
 * What a call runs (vkattn::Plan): from vkattn_plan_attention() before a call, or in
 * ::vkattn_call_stats after one. Fill with vkattn_plan_init().
 */
typedef struct vkattn_plan {
  uint32_t struct_size; /**< sizeof(vkattn_plan), set by vkattn_plan_init(). */
  /** THREE_PASS, FLASH or SPLIT_KV; AUTO only in ::vkattn_call_stats before a context's
   *  first successful call. */
  vkattn_kernel kernel;
  /** One line, e.g. "flash: ...; runs flash_attn_texel4" (CPU: "cpu: blocked online softmax
   *  ..."). Owned by the library; valid until the function that filled it is called again on
   *  the same thread. Never NULL once filled ("" before a context's first call). */
  const char* reason;
  int64_t rows_per_chunk;   /**< Query rows per chunk (three-pass). */
  uint64_t workspace_bytes; /**< Device workspace the plan allocates. */
} vkattn_plan;

/** Timing and plan of a context's last successful vkattn_attention() (vkattn::CallStats).
 *  Fill with vkattn_call_stats_init(). */
typedef struct vkattn_call_stats {
  uint32_t struct_size; /**< sizeof(vkattn_call_stats), set by vkattn_call_stats_init(). */
  /** Host wall-clock time of the whole call (validation, upload, waiting, download), in
   *  seconds; 0 before the first successful call. */
  double host_seconds;
  /** Device time between the inputs having arrived and the kernels having finished
   *  (timestamp queries), in seconds; negative when unknown: the CPU backend, a queue
   *  without timestamps, or no successful call yet. */
  double gpu_seconds;
  /** What the call ran. Unlike vkattn_plan_attention(), made with the call's inputs: over an
   *  F16 or BF16 KV cache the reason names the 16-bit kernel variant. */
  vkattn_plan plan;
} vkattn_call_stats;

/** Receives one validation-layer message (NUL-terminated; valid during the call only). May be
 *  called from any thread. */
typedef void (*vkattn_message_callback)(const char* message, void* user_data);

/** How a context is created (vkattn::Options). Fill with vkattn_options_init(). */
typedef struct vkattn_options {
  uint32_t struct_size;   /**< sizeof(vkattn_options), set by vkattn_options_init(). */
  vkattn_backend backend; /**< Default VKATTN_BACKEND_AUTO. */
  /** Vulkan device: NULL or "" = the best one, a decimal index, or a case-insensitive name
   *  substring. Copied during vkattn_context_create(). */
  const char* device;
  vkattn_kernel kernel; /**< Force a kernel family (tests, benchmarks). Default AUTO. */
  int validation;       /**< Non-zero: enable VK_LAYER_KHRONOS_validation. Default 0. */
  /** Non-zero: apply the VKATTN_BACKEND, VKATTN_DEVICE, VKATTN_KERNEL and VKATTN_VALIDATION
   *  environment overrides on top of these options. Default 0, as in C++. */
  int use_environment;
  /** Validation messages go here; NULL = stderr. */
  vkattn_message_callback on_validation_message;
  void* user_data; /**< Passed to on_validation_message. */
} vkattn_options;

/**
 * A non-owning, strided view of a 4-D tensor in host memory (vkattn::TensorView). Logical
 * order is always [batch, heads, length, head_dim]; strides count elements. Frozen layout.
 * Input tensors are only read, even though `data` is not const-qualified.
 */
typedef struct vkattn_tensor {
  void* data;         /**< First element; must not be NULL. */
  vkattn_dtype dtype; /**< Storage type of every element. */
  int64_t shape[4];   /**< Logical extents [B, H, L, D]. */
  int64_t strides[4]; /**< Element strides of the logical dims. */
  size_t extent;      /**< Elements readable/writable from `data` (bounds every stride). */
} vkattn_tensor;

/**
 * The problem (vkattn::AttentionDesc). Fill with vkattn_attention_desc_init(); the optional
 * C++ fields use sentinels here: `heads_kv` 0 = heads_q, `head_dim_v` 0 = head_dim,
 * `scale` NaN = 1/sqrt(head_dim).
 */
typedef struct vkattn_attention_desc {
  uint32_t struct_size; /**< sizeof(vkattn_attention_desc), set by the init function. */
  vkattn_dtype dtype;   /**< Storage type of Q, K, V and the output. Default F32. */
  int64_t batch;        /**< B. Default 1. */
  int64_t heads_q;      /**< Hq. Default 1. */
  int64_t heads_kv;     /**< Hkv (GQA/MQA), Hq a multiple of it; 0 (default) = heads_q. */
  int64_t len_q;        /**< Lq, query rows per head. */
  int64_t len_kv;       /**< Lkv, keys per head. */
  int64_t head_dim;     /**< Dk, shared by Q and K. */
  int64_t head_dim_v;   /**< Dv of V and the output; 0 (default) = head_dim. */
  float scale;          /**< Multiplies QK^T; NaN (default) = 1/sqrt(head_dim). */
  float softcap;        /**< If > 0: s <- softcap*tanh(s/softcap) before masks. Default 0. */
  vkattn_causal causal; /**< Default VKATTN_CAUSAL_NONE. */
  uint32_t reserved0;   /**< Must be 0 (keeps the 64-bit members aligned explicitly). */
  int64_t window_left;  /**< Sliding window, keys left of the diagonal; -1 (default) = none. */
  int64_t window_right; /**< Keys right of the diagonal; -1 (default) = unbounded. */
} vkattn_attention_desc;

/** A KV cache kept in a context's memory (vkattn::KvCache). Opaque. */
typedef struct vkattn_kv_cache vkattn_kv_cache;

/** Shape of a KV cache (vkattn::KvCacheDesc). Fill with vkattn_kv_cache_desc_init(). */
typedef struct vkattn_kv_cache_desc {
  uint32_t struct_size; /**< sizeof(vkattn_kv_cache_desc), set by the init function. */
  vkattn_dtype dtype;   /**< Element type: F32 (default, 0), F16 or BF16 (KvCacheDesc::dtype). */
  int64_t batch;        /**< B. Default 1. */
  int64_t heads_kv;     /**< Hkv. Default 1. */
  int64_t capacity;     /**< Most keys per (batch, KV head). */
  int64_t head_dim;     /**< Dk. */
  int64_t head_dim_v;   /**< Dv; 0 (default) = head_dim. */
} vkattn_kv_cache_desc;

/** Inputs of one call (vkattn::AttentionInputs). Fill with vkattn_inputs_init(). */
typedef struct vkattn_inputs {
  uint32_t struct_size; /**< sizeof(vkattn_inputs), set by vkattn_inputs_init(). */
  vkattn_tensor q;      /**< [B, Hq, Lq, Dk]. */
  vkattn_tensor k;      /**< [B, Hkv, Lkv, Dk]. */
  vkattn_tensor v;      /**< [B, Hkv, Lkv, Dv]. */
  /** Optional mask broadcastable to [B, Hq, Lq, Lkv], or NULL. dtype BOOL: true = attend;
   *  F32/F16/BF16: added to the scores (-inf allowed). */
  const vkattn_tensor* mask;
  const int32_t* kv_lens; /**< Optional per-batch key lengths [B], or NULL. */
  size_t kv_lens_count;   /**< Elements of kv_lens (B when given, else 0). */
  /** Optional KV cache of the same context used instead of k and v (which must then be
   *  zeroed, as vkattn_inputs_init leaves them); len_kv must equal its length. NULL = none.
   *  Since C API version 2: read only when struct_size covers it. */
  const vkattn_kv_cache* kv_cache;
} vkattn_inputs;

/** Outputs of one call (vkattn::AttentionOutputs). Fill with vkattn_outputs_init(). */
typedef struct vkattn_outputs {
  uint32_t struct_size; /**< sizeof(vkattn_outputs), set by vkattn_outputs_init(). */
  vkattn_tensor out;    /**< [B, Hq, Lq, Dv] in the input dtype. */
  float* lse;           /**< Optional log-sum-exp per row, contiguous [B, Hq, Lq], or NULL. */
  size_t lse_count;     /**< Elements of lse. */
  float* probs;         /**< Optional probabilities, contiguous [B, Hq, Lq, Lkv], or NULL. */
  size_t probs_count;   /**< Elements of probs. */
} vkattn_outputs;

/** A backend bound to one device (vkattn::Context). Opaque. Calls on one context are
 *  serialised internally, so a context may be shared between threads. */
typedef struct vkattn_context vkattn_context;

/** Sets `options` to the defaults (auto backend, best device, auto kernel, no validation,
 *  no environment overrides). Does nothing when `options` is NULL. */
void vkattn_options_init(vkattn_options* options);

/** Sets `desc` to the defaults documented on ::vkattn_attention_desc; sizes are zero.
 *  Does nothing when `desc` is NULL. */
void vkattn_attention_desc_init(vkattn_attention_desc* desc);

/** Zeroes `inputs` (no mask, no kv_lens) and sets struct_size. Does nothing when NULL. */
void vkattn_inputs_init(vkattn_inputs* inputs);

/** Zeroes `outputs` (no lse, no probs) and sets struct_size. Does nothing when NULL. */
void vkattn_outputs_init(vkattn_outputs* outputs);

/** View of a contiguous [B, H, L, D] array; extent = B*H*L*D. */
vkattn_tensor vkattn_tensor_bhld(void* data, vkattn_dtype dtype, int64_t b, int64_t h, int64_t l,
                                 int64_t d);

/** View of a contiguous [B, L, H, D] array (FlashAttention's layout) in logical BHLD order. */
vkattn_tensor vkattn_tensor_blhd(void* data, vkattn_dtype dtype, int64_t b, int64_t h, int64_t l,
                                 int64_t d);

/**
 * Creates a context.
 * @param options NULL for the defaults, else filled by vkattn_options_init().
 * @param out receives the context on success and NULL on failure; must not be NULL.
 * @return VKATTN_UNSUPPORTED when VKATTN_BACKEND_VULKAN is asked for and no device is usable;
 *         VKATTN_INVALID_ARGUMENT for a NULL `out`, a device that matches nothing, or a bad
 *         environment value.
 */
vkattn_status vkattn_context_create(const vkattn_options* options, vkattn_context** out);

/** Destroys a context and everything it owns. NULL is ignored. Never fails. */
void vkattn_context_destroy(vkattn_context* ctx);

/** Name of the device the context computes on, e.g. "llvmpipe (LLVM 15.0.6, 256 bits)", or
 *  NULL for a NULL context. Owned by the context; valid until it is destroyed. */
const char* vkattn_device_name(const vkattn_context* ctx);

/** Backend the context uses (VKATTN_BACKEND_VULKAN or VKATTN_BACKEND_CPU, never AUTO), or
 *  VKATTN_BACKEND_AUTO for a NULL context. */
vkattn_backend vkattn_context_backend(const vkattn_context* ctx);

/**
 * Computes softmax(scale*QK^T + masks)*V (vkattn::Context::attention). Everything is
 * validated first; on error nothing is written.
 * @param ctx a context from vkattn_context_create(); must not be NULL.
 * @param desc the problem, filled by vkattn_attention_desc_init(); must not be NULL.
 * @param inputs Q, K, V and the optional mask and kv_lens; must not be NULL.
 * @param outputs the output view and the optional lse and probs; must not be NULL.
 * @return VKATTN_OK, or the error class; vkattn_last_error_message() names the field.
 * Thread-safety: calls on one context are serialised.
 */
vkattn_status vkattn_attention(vkattn_context* ctx, const vkattn_attention_desc* desc,
                               const vkattn_inputs* inputs, const vkattn_outputs* outputs);

/** Zeroes `plan` (reason "") and sets struct_size. Does nothing when NULL. */
void vkattn_plan_init(vkattn_plan* plan);

/** Zeroes `stats` (gpu_seconds -1, plan.reason "") and sets the struct sizes. Does nothing
 *  when NULL. */
void vkattn_call_stats_init(vkattn_call_stats* stats);

/**
 * The kernel a call with this description would run on `ctx`, and why
 * (vkattn::Context::plan); nothing runs.
 * @param want_probs non-zero when the call will ask for the probabilities P (only the
 *        three-pass kernel returns them).
 * @param out filled by vkattn_plan_init(); receives the plan; must not be NULL.
 * @return VKATTN_INVALID_ARGUMENT for a malformed desc; VKATTN_UNSUPPORTED when no kernel
 *         can run it (e.g. a forced kernel that does not apply).
 */
vkattn_status vkattn_plan_attention(const vkattn_context* ctx, const vkattn_attention_desc* desc,
                                    int want_probs, vkattn_plan* out);

/**
 * Timing and plan of the last successful vkattn_attention() on `ctx`
 * (vkattn::Context::last_call_stats). A failed call resets them.
 * @param out filled by vkattn_call_stats_init(); must not be NULL.
 */
vkattn_status vkattn_last_call_stats(const vkattn_context* ctx, vkattn_call_stats* out);

/** Sets `desc` to the defaults documented on ::vkattn_kv_cache_desc; sizes are zero. Does
 *  nothing when `desc` is NULL. */
void vkattn_kv_cache_desc_init(vkattn_kv_cache_desc* desc);

/**
 * Creates an empty KV cache in the context's memory (device buffers on Vulkan)
 * (vkattn::Context::create_kv_cache). The cache keeps the context's device alive: it may be
 * destroyed before or after the context.
 * @param out receives the cache on success and NULL on failure; must not be NULL.
 * @return VKATTN_INVALID_ARGUMENT for a malformed desc; VKATTN_UNSUPPORTED past
 *         maxStorageBufferRange; VKATTN_OUT_OF_MEMORY.
 */
vkattn_status vkattn_kv_cache_create(vkattn_context* ctx, const vkattn_kv_cache_desc* desc,
                                     vkattn_kv_cache** out);

/** Destroys a cache. NULL is ignored. Never fails. */
void vkattn_kv_cache_destroy(vkattn_kv_cache* cache);

/**
 * Appends n rows to every (batch, KV head): `k` is [B, Hkv, n, Dk], `v` is [B, Hkv, n, Dv],
 * any strides, F32/F16/BF16 (vkattn::KvCache::append). On failure the cache is unchanged.
 * Thread-safety: do not use one cache from two threads at once.
 */
vkattn_status vkattn_kv_cache_append(vkattn_kv_cache* cache, const vkattn_tensor* k,
                                     const vkattn_tensor* v);

/** Rows held per (batch, KV head); 0 for a NULL cache. */
int64_t vkattn_kv_cache_length(const vkattn_kv_cache* cache);

/** Forgets every row (length becomes 0), keeping the memory. NULL is ignored. */
void vkattn_kv_cache_clear(vkattn_kv_cache* cache);

/** Message of the last failed call on this thread ("" after a successful one). Owned by the
 *  library; valid until the next vkattn call on the same thread. Never NULL. */
const char* vkattn_last_error_message(void);

/** Stable lower-case name of a status, e.g. "invalid_argument"; "unknown" if out of range. */
const char* vkattn_status_string(vkattn_status status);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* VKATTN_VKATTN_H_ */
