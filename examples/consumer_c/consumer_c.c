/* SPDX-License-Identifier: MIT */
/* The C API end to end: one attention call on the backend the environment picks
   (VKATTN_BACKEND; default the best Vulkan device, else the CPU), checked against the CPU
   backend. Exits 1 when they disagree or a call fails. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <vkattn/vkattn.h>

enum { B = 1, HQ = 4, HKV = 2, LQ = 33, LKV = 47, D = 32 };

static void pseudo_random(float* v, size_t n, uint32_t seed) {
  size_t i;
  for (i = 0; i < n; ++i) { /* a fixed LCG: the same values on every platform */
    seed = seed * 1664525u + 1013904223u;
    v[i] = (float)(seed >> 8) / (float)(1u << 24) * 2.0f - 1.0f;
  }
}

static int check(vkattn_status s, const char* what) {
  if (s == VKATTN_OK) return 1;
  fprintf(stderr, "vkattn consumer_c: %s: %s (%s)\n", what, vkattn_last_error_message(),
          vkattn_status_string(s));
  return 0;
}

static int run(vkattn_context* ctx, float* q, float* k, float* v, float* out) {
  vkattn_attention_desc desc;
  vkattn_inputs in;
  vkattn_outputs outs;
  vkattn_attention_desc_init(&desc);
  desc.batch = B;
  desc.heads_q = HQ;
  desc.heads_kv = HKV;
  desc.len_q = LQ;
  desc.len_kv = LKV;
  desc.head_dim = D;
  desc.causal = VKATTN_CAUSAL_BOTTOM_RIGHT;
  vkattn_inputs_init(&in);
  in.q = vkattn_tensor_bhld(q, VKATTN_DTYPE_F32, B, HQ, LQ, D);
  in.k = vkattn_tensor_bhld(k, VKATTN_DTYPE_F32, B, HKV, LKV, D);
  in.v = vkattn_tensor_bhld(v, VKATTN_DTYPE_F32, B, HKV, LKV, D);
  vkattn_outputs_init(&outs);
  outs.out = vkattn_tensor_bhld(out, VKATTN_DTYPE_F32, B, HQ, LQ, D);
  return check(vkattn_attention(ctx, &desc, &in, &outs), "vkattn_attention");
}

int main(void) {
  static float q[B * HQ * LQ * D], k[B * HKV * LKV * D], v[B * HKV * LKV * D];
  static float got[B * HQ * LQ * D], want[B * HQ * LQ * D];
  vkattn_options options;
  vkattn_context* ctx = NULL;
  vkattn_context* cpu = NULL;
  vkattn_call_stats stats;
  double max_err = 0.0;
  size_t i;
  int ok;

  pseudo_random(q, sizeof q / sizeof q[0], 1);
  pseudo_random(k, sizeof k / sizeof k[0], 2);
  pseudo_random(v, sizeof v / sizeof v[0], 3);

  vkattn_options_init(&options);
  options.use_environment = 1;
  ok = check(vkattn_context_create(&options, &ctx), "vkattn_context_create");
  vkattn_options_init(&options);
  options.backend = VKATTN_BACKEND_CPU;
  ok = ok && check(vkattn_context_create(&options, &cpu), "vkattn_context_create(cpu)");
  ok = ok && run(ctx, q, k, v, got) && run(cpu, q, k, v, want);
  if (ok) {
    for (i = 0; i < sizeof got / sizeof got[0]; ++i) {
      double e = fabs((double)got[i] - (double)want[i]);
      if (e > max_err) max_err = e;
    }
    /* Outputs are convex combinations of V rows in [-1, 1]: 1e-4 is loose for f32. */
    ok = max_err <= 1e-4;
    printf("vkattn consumer_c: %s: max |error| vs cpu = %.3g (%s)\n", vkattn_device_name(ctx),
           max_err, ok ? "ok" : "FAILED");
    vkattn_call_stats_init(&stats);
    ok = ok && check(vkattn_last_call_stats(ctx, &stats), "vkattn_last_call_stats");
    if (ok)
      printf("vkattn consumer_c: ran %s in %.3f ms\n", stats.plan.reason, stats.host_seconds * 1e3);
  }
  vkattn_context_destroy(cpu);
  vkattn_context_destroy(ctx);
  return ok ? EXIT_SUCCESS : EXIT_FAILURE;
}
