/* SPDX-License-Identifier: MIT */
/* The C half of the C API test: functions compiled as C99 (test_capi.c) that the GoogleTest
   half (test_capi_cpp.cpp) calls and checks against the C++ API. */
#ifndef VKATTN_TEST_CAPI_H_
#define VKATTN_TEST_CAPI_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One problem, with the C sentinels: hkv 0 = hq, dv 0 = dk, scale NaN = default. */
typedef struct capi_case {
  int64_t b, hq, hkv, lq, lkv, dk, dv;
  float scale;
  int causal;      /* a vkattn_causal value */
  int use_kv_lens; /* pass kv_lens (length b) */
  int blhd;        /* q, k, v and out in BLHD layout instead of BHLD */
} capi_case;

/* Runs `c` through the C API on a CPU context. `out` has b*hq*lq*dv elements (in the layout
   `c->blhd` asks for), `lse` b*hq*lq or is NULL. Returns the vkattn_status. */
int capi_run(const capi_case* c, const float* q, const float* k, const float* v,
             const int32_t* kv_lens, float* out, float* lse);

/* Error-path checks. Each returns NULL when the C API behaved as documented, else what went
   wrong; vkattn_last_error_message() then holds the library's message. */
const char* capi_check_null_arguments(void);
const char* capi_check_bad_shape(void);
const char* capi_check_bad_enums_and_sizes(void);
const char* capi_check_message_cleared_on_success(void);
const char* capi_check_context_queries(void);
const char* capi_check_kv_cache(void);
const char* capi_check_inputs_version_1(void);
const char* capi_check_plan_and_stats_errors(void);

/* What capi_check_plan_and_stats saw, for the C++ half to compare with the C++ API. */
typedef struct capi_plan_report {
  int create_status;   /* the vkattn_status of vkattn_context_create */
  int kernel;          /* vkattn_plan_attention's kernel (a vkattn_kernel) */
  char reason[512];    /* and its reason */
  int probs_kernel;    /* the kernel planned when P is wanted */
  double host_seconds; /* the call stats after one successful call */
  double gpu_seconds;
  int validation_messages; /* validation-layer messages during the check (Vulkan) */
} capi_plan_report;

/* On a context of `backend` (a vkattn_backend; Vulkan with the validation layer on), for a
   small GQA problem: the call stats before any call, vkattn_plan_attention, the stats after a
   call (their plan must be the planned one), and after a failed call (reset). Returns NULL
   when all of that held, else what went wrong; `report` receives what it saw. */
const char* capi_check_plan_and_stats(int backend, capi_plan_report* report);

#ifdef __cplusplus
}
#endif

#endif /* VKATTN_TEST_CAPI_H_ */
