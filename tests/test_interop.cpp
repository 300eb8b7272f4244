// SPDX-License-Identifier: MIT
// Context::adopt and record_attention (include/vkattn/vulkan_interop.hpp,
// src/vulkan/recording.cpp, adopt_device in src/vulkan/device.cpp), and their C form
// (include/vkattn/vkattn_vulkan.h): the test plays the application that owns the instance,
// device, queue, buffers and command buffers; every result is compared with the
// double-precision reference, with the validation layer on.
#include <cmath>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include <gmock/gmock.h>

#include "attention_case.hpp"
#include "interop_app.hpp"
#include "testutil.hpp"
#include "vkattn/vkattn_vulkan.h"

namespace vkattn::test {
namespace {

using ::testing::HasSubstr;

class Interop : public ::testing::Test {
 protected:
  // One application per test process (instance creation with the layer is slow), destroyed
  // after the suite like a real application's: everything vkattn made must be gone by then.
  static App& app() {
    if (!app_) app_ = std::make_unique<App>();
    return *app_;
  }
  static void TearDownTestSuite() { app_.reset(); }
  static Context adopt(Kernel kernel = Kernel::automatic) {
    Options o;
    o.kernel = kernel;
    return Context::adopt(app().external(), o);
  }
  void SetUp() override {
    app();
    first_message_ = ValidationLog::get().size();
  }
  void TearDown() override {
    EXPECT_EQ(ValidationLog::get().size(), first_message_)
        << "validation messages:\n"
        << ValidationLog::get().since(first_message_);
  }
  std::size_t first_message_ = 0;
  inline static std::unique_ptr<App> app_;
};

// One recorded problem: inputs and outputs in one application buffer at aligned, non-zero
// offsets (so descriptor offsets are exercised), and the reference to hold them to.
class RecordedCase {
 public:
  RecordedCase(const App& app, const Case& c, bool want_lse = true)
      : c_(c), want_lse_(want_lse), desc_(desc_of(c)) {
    const auto n = [](std::int64_t a, std::int64_t b, std::int64_t l, std::int64_t d) {
      return static_cast<std::size_t>(a * b * l * d);
    };
    q_ = random_tensor(DType::f32, n(c.batch, c.heads_q, c.len_q, c.dim), c.seed, c.magnitude);
    k_ =
        random_tensor(DType::f32, n(c.batch, c.heads_kv, c.len_kv, c.dim), c.seed + 1, c.magnitude);
    v_ = random_tensor(DType::f32, n(c.batch, c.heads_kv, c.len_kv, c.dv()), c.seed + 2,
                       c.magnitude);
    const std::size_t out_n = n(c.batch, c.heads_q, c.len_q, c.dv());
    const std::size_t lse_n = n(c.batch, c.heads_q, c.len_q, 1);

    const vk::DeviceSize align =
        std::max<vk::DeviceSize>(app.limits.minStorageBufferOffsetAlignment, 4);
    const auto round = [&](vk::DeviceSize x) { return (x + align - 1) / align * align; };
    vk::DeviceSize at = align;  // nothing starts at offset 0
    for (auto [offset, count] : {std::pair{&q_at_, q_.count},
                                 {&k_at_, k_.count},
                                 {&v_at_, v_.count},
                                 {&o_at_, out_n},
                                 {&lse_at_, lse_n}}) {
      *offset = at;
      at = round(at + count * sizeof(float) + 1);
    }
    buffer_ = app.make_buffer(at);
    std::memcpy(buffer_.floats(q_at_), q_.data(), q_.bytes.size());
    std::memcpy(buffer_.floats(k_at_), k_.data(), k_.bytes.size());
    std::memcpy(buffer_.floats(v_at_), v_.data(), v_.bytes.size());
    // Sentinels: an output the kernels never wrote cannot pass.
    std::fill_n(buffer_.floats(o_at_), out_n, std::numeric_limits<float>::quiet_NaN());
    std::fill_n(buffer_.floats(lse_at_), lse_n, std::numeric_limits<float>::quiet_NaN());
    out_n_ = out_n;
    lse_n_ = lse_n;
  }

  [[nodiscard]] const AttentionDesc& desc() const { return desc_; }
  [[nodiscard]] DeviceInputs inputs() const {
    const VkBuffer b = *buffer_.buffer;
    return {{b, q_at_}, {b, k_at_}, {b, v_at_}};
  }
  [[nodiscard]] DeviceOutputs outputs() const {
    const VkBuffer b = *buffer_.buffer;
    return {{b, o_at_}, want_lse_ ? DeviceTensor{b, lse_at_} : DeviceTensor{}};
  }

  // Compares what the device wrote with the reference; failures name the case.
  void expect_matches_reference() const {
    AttentionInputs in;
    in.q = TensorView::bhld(q_.data(), DType::f32, c_.batch, c_.heads_q, c_.len_q, c_.dim);
    in.k = TensorView::bhld(k_.data(), DType::f32, c_.batch, c_.heads_kv, c_.len_kv, c_.dim);
    in.v = TensorView::bhld(v_.data(), DType::f32, c_.batch, c_.heads_kv, c_.len_kv, c_.dv());
    std::vector<float> scratch(out_n_);
    std::vector<float> lse(lse_n_);
    AttentionOutputs o;
    o.out = MutableTensorView::bhld(scratch.data(), DType::f32, c_.batch, c_.heads_q, c_.len_q,
                                    c_.dv());
    o.lse = lse;
    const detail::Problem problem = detail::validate_call(desc_, in, o);
    const detail::ReferenceResult ref = detail::reference_attention(problem, in);

    // Largest |logit| and |V| scale the bound as in run_case (tolerance.hpp).
    double max_logit = 0.0;
    const std::int64_t group = c_.heads_q / c_.heads_kv;
    for (std::int64_t b = 0; b < c_.batch; ++b)
      for (std::int64_t h = 0; h < c_.heads_q; ++h)
        for (std::int64_t i = 0; i < c_.len_q; ++i)
          for (std::int64_t j = 0; j < c_.len_kv; ++j) {
            double dot = 0.0;
            for (std::int64_t d = 0; d < c_.dim; ++d)
              dot += static_cast<double>(q_.get(detail::offset_of(in.q, b, h, i, d))) *
                     k_.get(detail::offset_of(in.k, b, h / group, j, d));
            max_logit = std::max(max_logit, std::abs(dot * problem.scale));
          }
    double max_v = 0.0;
    for (std::size_t i = 0; i < v_.count; ++i)
      max_v = std::max(max_v, std::abs(static_cast<double>(v_.get(i))));
    const double factor = logit_factor(max_logit);

    const float* got_out = buffer_.floats(o_at_);
    const Comparison out = compare([&](std::size_t i) { return static_cast<double>(got_out[i]); },
                                   ref.out, tolerance_for(DType::f32), max_v * factor);
    EXPECT_TRUE(out.ok) << "out mismatch for " << c_.str() << ": max_abs_err=" << out.max_abs_err
                        << " worst=" << out.worst << " nan=" << out.nan_count;
    if (want_lse_) {
      const float* got_lse = buffer_.floats(lse_at_);
      const Comparison l = compare([&](std::size_t i) { return static_cast<double>(got_lse[i]); },
                                   ref.lse, tolerance_for(DType::f32), factor);
      EXPECT_TRUE(l.ok) << "lse mismatch for " << c_.str() << ": max_abs_err=" << l.max_abs_err
                        << " worst=" << l.worst << " nan=" << l.nan_count;
    }
  }

 private:
  Case c_;
  bool want_lse_;
  AttentionDesc desc_;
  HostTensor q_{DType::f32, 0}, k_{DType::f32, 0}, v_{DType::f32, 0};
  HostBuffer buffer_;
  vk::DeviceSize q_at_ = 0, k_at_ = 0, v_at_ = 0, o_at_ = 0, lse_at_ = 0;
  std::size_t out_n_ = 0, lse_n_ = 0;
};

// Records one case into a fresh command buffer between the application's barriers, submits,
// waits and checks it; returns the plan it recorded.
Plan record_and_check(const App& app, Context& ctx, const Case& c, bool want_lse = true) {
  const RecordedCase rc(app, c, want_lse);
  const vk::raii::CommandBuffer cmd = app.make_command_buffer();
  cmd.begin(vk::CommandBufferBeginInfo{.flags = vk::CommandBufferUsageFlagBits::eOneTimeSubmit});
  App::barrier_before(cmd);
  const Recording rec = record_attention(ctx, *cmd, rc.desc(), rc.inputs(), rc.outputs());
  App::barrier_after(cmd);
  cmd.end();
  app.submit_and_wait(cmd);
  rc.expect_matches_reference();
  // Recordings read application buffers as storage buffers, never through texel views: the
  // reason names the shader that was recorded, not the one a host call would run.
  EXPECT_THAT(rec.plan().reason, ::testing::Not(HasSubstr("_texel"))) << rec.plan().reason;
  return rec.plan();
}

TEST_F(Interop, HostAttentionRunsOnTheAdoptedDevice) {
  Context ctx = adopt();
  EXPECT_EQ(ctx.device().backend, Backend::vulkan);
  EXPECT_EQ(ctx.device().name, std::string(app().physical.getProperties().deviceName.data()));
  // Few rows per KV head and small head dims keep lavapipe's pipeline compiles short.
  Case flash = shape(2, 8, 2, 5, 91, 32, 32, 1);
  flash.causal = Causal::bottom_right;
  expect_ok(flash, run_case(ctx, flash), Kernel::flash);
  const Case split = shape(1, 8, 2, 1, 1024, 128, 128, 2);
  expect_ok(split, run_case(ctx, split), Kernel::split_kv);
  Case probs = shape(1, 2, 1, 17, 33, 40, 24, 3);
  probs.probs = true;
  probs.mask = MaskMode::boolean;
  probs.mask_shape = {0, 1, 0, 0};
  expect_ok(probs, run_case(ctx, probs), Kernel::three_pass);
}

TEST_F(Interop, RecordsFlashWithGqaAndCausal) {
  Context ctx = adopt();
  Case c = shape(2, 8, 2, 5, 91, 32, 32, 11);
  c.causal = Causal::bottom_right;
  EXPECT_EQ(record_and_check(app(), ctx, c).kernel, Kernel::flash);
  c = shape(1, 4, 4, 9, 129, 16, 48, 12);  // Dk != Dv, both padded sizes
  c.causal = Causal::top_left;
  EXPECT_EQ(record_and_check(app(), ctx, c).kernel, Kernel::flash);
}

TEST_F(Interop, RecordsSplitKvForDecode) {
  Context ctx = adopt();
  const Plan plan = record_and_check(app(), ctx, shape(2, 8, 2, 1, 1500, 128, 128, 21));
  EXPECT_EQ(plan.kernel, Kernel::split_kv) << plan.reason;
}

TEST_F(Interop, RecordsThreePassForHeadDimsTheFusedKernelsPad) {
  Context ctx = adopt();
  Case c = shape(1, 4, 2, 33, 70, 80, 40, 31);
  c.causal = Causal::top_left;
  c.window_left = 9;
  c.window_right = 0;
  const Plan plan = record_and_check(app(), ctx, c);
  EXPECT_EQ(plan.kernel, Kernel::three_pass);
  EXPECT_THAT(plan.reason, HasSubstr("head_dim=80"));
}

TEST_F(Interop, ForcedKernelsAreRecorded) {
  Context three = adopt(Kernel::three_pass);
  EXPECT_EQ(record_and_check(app(), three, shape(1, 2, 2, 20, 50, 64, 64, 41)).kernel,
            Kernel::three_pass);
  Context split = adopt(Kernel::split_kv);
  Case c = shape(1, 2, 1, 9, 600, 32, 32, 42);
  c.softcap = 3.0f;
  EXPECT_EQ(record_and_check(app(), split, c).kernel, Kernel::split_kv);
}

TEST_F(Interop, RecordsWithoutLse) {
  Context ctx = adopt();
  EXPECT_EQ(record_and_check(app(), ctx, shape(1, 2, 2, 10, 20, 16, 16, 51), false).kernel,
            Kernel::flash);
  EXPECT_EQ(record_and_check(app(), ctx, shape(1, 2, 2, 10, 20, 8, 8, 52), false).kernel,
            Kernel::three_pass);
}

TEST_F(Interop, TwoRecordingsInFlightKeepSeparateWorkspaces) {
  // Both split the keys and write partials to their workspace in the same submission; a
  // shared workspace would mix them.
  Context ctx = adopt();
  const RecordedCase a(app(), shape(1, 8, 2, 1, 1200, 64, 64, 61));
  const RecordedCase b(app(), shape(1, 4, 1, 2, 900, 64, 64, 62));
  const vk::raii::CommandBuffer cmd = app().make_command_buffer();
  cmd.begin(vk::CommandBufferBeginInfo{.flags = vk::CommandBufferUsageFlagBits::eOneTimeSubmit});
  App::barrier_before(cmd);
  const Recording ra = record_attention(ctx, *cmd, a.desc(), a.inputs(), a.outputs());
  const Recording rb = record_attention(ctx, *cmd, b.desc(), b.inputs(), b.outputs());
  App::barrier_after(cmd);
  cmd.end();
  EXPECT_EQ(ra.plan().kernel, Kernel::split_kv);
  EXPECT_EQ(rb.plan().kernel, Kernel::split_kv);
  app().submit_and_wait(cmd);
  a.expect_matches_reference();
  b.expect_matches_reference();
}

TEST_F(Interop, ARecordingOutlivesItsContext) {
  const RecordedCase rc(app(), shape(1, 2, 2, 30, 40, 32, 32, 71));
  const vk::raii::CommandBuffer cmd = app().make_command_buffer();
  cmd.begin(vk::CommandBufferBeginInfo{.flags = vk::CommandBufferUsageFlagBits::eOneTimeSubmit});
  App::barrier_before(cmd);
  std::optional<Recording> rec;
  {
    Context ctx = adopt();
    rec.emplace(record_attention(ctx, *cmd, rc.desc(), rc.inputs(), rc.outputs()));
  }  // the Context is gone; the Recording still holds the pipelines its commands use
  App::barrier_after(cmd);
  cmd.end();
  app().submit_and_wait(cmd);
  rc.expect_matches_reference();
}

TEST_F(Interop, AdoptsAVulkan11Instance) {
  // The oldest instance vkattn accepts, with its own validation layer: describing the device
  // and running both entry points stay within what a 1.1 instance allows.
  const App app11(VK_API_VERSION_1_1);
  Options o;
  Context ctx = Context::adopt(app11.external(), o);
  const Case c = shape(1, 4, 2, 9, 33, 32, 32, 75);
  expect_ok(c, run_case(ctx, c), Kernel::flash);
  EXPECT_EQ(record_and_check(app11, ctx, c).kernel, Kernel::flash);
}

TEST_F(Interop, DestroyingTheContextLeavesTheDeviceUsable) {
  const Case c = shape(1, 2, 2, 12, 24, 32, 32, 81);
  {
    Context first = adopt();
    expect_ok(c, run_case(first, c), Kernel::flash);
  }
  // The application's device, queue and instance still work: a second Context adopts them.
  Context second = adopt();
  expect_ok(c, run_case(second, c), Kernel::flash);
  EXPECT_EQ(record_and_check(app(), second, c).kernel, Kernel::flash);
  app().device.waitIdle();
}

template <class F>
void expect_error(F&& f, ErrorCode code, const std::string& part) {
  try {
    f();
    ADD_FAILURE() << "no error; expected one naming '" << part << "'";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), code) << e.what();
    EXPECT_THAT(e.what(), HasSubstr(part));
  }
}

TEST_F(Interop, AdoptRejectsUnusableHandlesAndOptions) {
  const ExternalVulkan good = app().external();
  const auto adopt_with = [](ExternalVulkan e, const Options& o = {}) {
    return [e, o] { (void)Context::adopt(e, o); };
  };
  ExternalVulkan e = good;
  e.instance = VK_NULL_HANDLE;
  expect_error(adopt_with(e), ErrorCode::invalid_argument, "ExternalVulkan::instance is null");
  e = good;
  e.physical_device = VK_NULL_HANDLE;
  expect_error(adopt_with(e), ErrorCode::invalid_argument, "physical_device is null");
  e = good;
  e.device = VK_NULL_HANDLE;
  expect_error(adopt_with(e), ErrorCode::invalid_argument, "device is null");
  e = good;
  e.queue = VK_NULL_HANDLE;
  expect_error(adopt_with(e), ErrorCode::invalid_argument, "queue is null");
  e = good;
  e.api_version = VK_API_VERSION_1_0;
  expect_error(adopt_with(e), ErrorCode::unsupported, "api_version=1.0.0");
  e = good;
  e.queue_family = 1000;
  expect_error(adopt_with(e), ErrorCode::invalid_argument, "queue_family=1000 is out of range");

  Options o;
  o.device = "0";
  expect_error(adopt_with(good, o), ErrorCode::invalid_argument, "options.device");
  o = {};
  o.validation = true;
  expect_error(adopt_with(good, o), ErrorCode::invalid_argument, "options.validation");
  o = {};
  o.backend = Backend::cpu;
  expect_error(adopt_with(good, o), ErrorCode::invalid_argument, "options.backend=cpu");

  // A physical device of another instance is not one of this instance's.
  const vk::ApplicationInfo info{.apiVersion = VK_API_VERSION_1_1};
  const vk::raii::Instance other(app().context, vk::InstanceCreateInfo{.pApplicationInfo = &info});
  e = good;
  e.physical_device = static_cast<VkPhysicalDevice>(*vk::raii::PhysicalDevices(other).front());
  expect_error(adopt_with(e), ErrorCode::invalid_argument,
               "is not a physical device of ExternalVulkan::instance");
}

TEST_F(Interop, RecordRejectsBadCommandBuffersBuffersAndOffsets) {
  Context ctx = adopt();
  const RecordedCase rc(app(), shape(1, 2, 2, 8, 16, 32, 32, 91));
  const vk::raii::CommandBuffer cmd = app().make_command_buffer();
  cmd.begin(vk::CommandBufferBeginInfo{.flags = vk::CommandBufferUsageFlagBits::eOneTimeSubmit});
  const auto record = [&](VkCommandBuffer c, DeviceInputs in, DeviceOutputs out,
                          const AttentionDesc& desc) {
    return [&ctx, c, in, out, desc] { (void)record_attention(ctx, c, desc, in, out); };
  };
  expect_error(record(VK_NULL_HANDLE, rc.inputs(), rc.outputs(), rc.desc()),
               ErrorCode::invalid_argument, "cmd is null");
  DeviceInputs in = rc.inputs();
  in.k.buffer = VK_NULL_HANDLE;
  expect_error(record(*cmd, in, rc.outputs(), rc.desc()), ErrorCode::invalid_argument,
               "in.k.buffer is null");
  DeviceOutputs out = rc.outputs();
  out.out.buffer = VK_NULL_HANDLE;
  expect_error(record(*cmd, rc.inputs(), out, rc.desc()), ErrorCode::invalid_argument,
               "out.out.buffer is null");
  const vk::DeviceSize align = app().limits.minStorageBufferOffsetAlignment;
  if (align > 1) {  // a device with byte alignment has no misaligned offset to reject
    in = rc.inputs();
    in.v.offset += align / 2;
    expect_error(record(*cmd, in, rc.outputs(), rc.desc()), ErrorCode::invalid_argument,
                 "in.v.offset=");
  }
  // A K tensor one row past maxStorageBufferRange (never allocated: refused first).
  AttentionDesc big = rc.desc();
  big.head_dim = 256;
  big.head_dim_v = 256;
  big.heads_q = 1;
  big.heads_kv = 1;
  big.len_kv = static_cast<std::int64_t>(app().limits.maxStorageBufferRange / (256 * 4)) + 1;
  expect_error(record(*cmd, rc.inputs(), rc.outputs(), big), ErrorCode::unsupported, "in.k needs");
  AttentionDesc half = rc.desc();
  half.dtype = DType::f16;
  expect_error(record(*cmd, rc.inputs(), rc.outputs(), half), ErrorCode::unsupported,
               "desc.dtype=f16 is not supported");
  AttentionDesc bad = rc.desc();
  bad.heads_q = 3;
  expect_error(record(*cmd, rc.inputs(), rc.outputs(), bad), ErrorCode::invalid_argument,
               "heads_q=3 is not a multiple of heads_kv=2");
  cmd.end();
}

TEST_F(Interop, RecordRejectsUnsupportedContextsAndKernels) {
  const RecordedCase rc(app(), shape(1, 2, 2, 8, 16, 80, 80, 101));
  const vk::raii::CommandBuffer cmd = app().make_command_buffer();
  cmd.begin(vk::CommandBufferBeginInfo{.flags = vk::CommandBufferUsageFlagBits::eOneTimeSubmit});
  Options cpu;
  cpu.backend = Backend::cpu;
  Context cpu_ctx = Context::create(cpu);
  expect_error([&] { (void)record_attention(cpu_ctx, *cmd, rc.desc(), rc.inputs(), rc.outputs()); },
               ErrorCode::unsupported, "needs a Vulkan Context");
  Context flash = adopt(Kernel::flash);
  expect_error([&] { (void)record_attention(flash, *cmd, rc.desc(), rc.inputs(), rc.outputs()); },
               ErrorCode::unsupported, "kernel flash cannot be recorded: head_dim=80");
  Context moved = adopt();
  Context taker = std::move(moved);
  // Using the moved-from Context is the point: it must say so, not crash.
  Context& moved_from = moved;  // NOLINT(bugprone-use-after-move)
  expect_error(
      [&] { (void)record_attention(moved_from, *cmd, rc.desc(), rc.inputs(), rc.outputs()); },
      ErrorCode::invalid_argument, "moved from");
  cmd.end();
}

// The C interop API: the same objects through vkattn_vulkan.h.
vkattn_external_vulkan c_external(const ExternalVulkan& e) {
  vkattn_external_vulkan c;
  vkattn_external_vulkan_init(&c);
  c.instance = e.instance;
  c.physical_device = e.physical_device;
  c.device = e.device;
  c.queue = e.queue;
  c.queue_family = e.queue_family;
  c.api_version = e.api_version;
  return c;
}

vkattn_device_tensor c_tensor(const DeviceTensor& t) { return {t.buffer, t.offset}; }

vkattn_device_inputs c_inputs(const RecordedCase& rc) {
  vkattn_device_inputs in;
  vkattn_device_inputs_init(&in);
  in.q = c_tensor(rc.inputs().q);
  in.k = c_tensor(rc.inputs().k);
  in.v = c_tensor(rc.inputs().v);
  return in;
}

vkattn_device_outputs c_outputs(const RecordedCase& rc) {
  vkattn_device_outputs out;
  vkattn_device_outputs_init(&out);
  out.out = c_tensor(rc.outputs().out);
  out.lse = c_tensor(rc.outputs().lse);
  return out;
}

// The fields of a Case that a recording takes (f32, causal, no masks).
vkattn_attention_desc c_desc(const Case& c) {
  vkattn_attention_desc d;
  vkattn_attention_desc_init(&d);
  d.batch = c.batch;
  d.heads_q = c.heads_q;
  d.heads_kv = c.heads_kv;
  d.len_q = c.len_q;
  d.len_kv = c.len_kv;
  d.head_dim = c.dim;
  d.head_dim_v = c.dv();
  d.causal = c.causal == Causal::bottom_right ? VKATTN_CAUSAL_BOTTOM_RIGHT
             : c.causal == Causal::top_left   ? VKATTN_CAUSAL_TOP_LEFT
                                              : VKATTN_CAUSAL_NONE;
  return d;
}

TEST_F(Interop, CApiAdoptsAndRecordsFlashAndThreePass) {
  const vkattn_external_vulkan external = c_external(app().external());
  vkattn_context* ctx = nullptr;
  ASSERT_EQ(vkattn_context_adopt(&external, nullptr, &ctx), VKATTN_OK)
      << vkattn_last_error_message();
  EXPECT_EQ(vkattn_context_backend(ctx), VKATTN_BACKEND_VULKAN);
  Case gqa = shape(2, 8, 2, 5, 91, 32, 32, 201);
  gqa.causal = Causal::bottom_right;
  for (const auto& [c, kernel] : {std::pair{gqa, VKATTN_KERNEL_FLASH},
                                  {shape(1, 2, 2, 8, 16, 80, 80, 202), VKATTN_KERNEL_THREE_PASS}}) {
    const RecordedCase rc(app(), c);
    const vkattn_attention_desc desc = c_desc(c);
    const vkattn_device_inputs in = c_inputs(rc);
    const vkattn_device_outputs out = c_outputs(rc);
    const vk::raii::CommandBuffer cmd = app().make_command_buffer();
    cmd.begin(vk::CommandBufferBeginInfo{.flags = vk::CommandBufferUsageFlagBits::eOneTimeSubmit});
    App::barrier_before(cmd);
    vkattn_recording* rec = nullptr;
    ASSERT_EQ(vkattn_record_attention(ctx, *cmd, &desc, &in, &out, &rec), VKATTN_OK)
        << vkattn_last_error_message();
    App::barrier_after(cmd);
    cmd.end();
    app().submit_and_wait(cmd);
    rc.expect_matches_reference();
    vkattn_plan plan;
    vkattn_plan_init(&plan);
    ASSERT_EQ(vkattn_recording_plan(rec, &plan), VKATTN_OK) << vkattn_last_error_message();
    EXPECT_EQ(plan.kernel, kernel) << plan.reason;
    // The same recording through the C++ API plans the same.
    Context cpp = adopt();
    const vk::raii::CommandBuffer cmd2 = app().make_command_buffer();
    cmd2.begin(vk::CommandBufferBeginInfo{.flags = vk::CommandBufferUsageFlagBits::eOneTimeSubmit});
    const Recording same = record_attention(cpp, *cmd2, rc.desc(), rc.inputs(), rc.outputs());
    cmd2.end();
    EXPECT_EQ(std::string(plan.reason), same.plan().reason);
    vkattn_recording_destroy(rec);
  }
  vkattn_context_destroy(ctx);
}

TEST_F(Interop, CApiErrorsNameTheArgument) {
  const auto expect_failure = [](vkattn_status got, vkattn_status want, const char* part) {
    EXPECT_EQ(got, want) << vkattn_last_error_message();
    EXPECT_THAT(vkattn_last_error_message(), HasSubstr(part));
  };
  vkattn_external_vulkan external = c_external(app().external());
  vkattn_context* ctx = reinterpret_cast<vkattn_context*>(&external);  // must become NULL
  expect_failure(vkattn_context_adopt(nullptr, nullptr, &ctx), VKATTN_INVALID_ARGUMENT,
                 "external is NULL");
  EXPECT_EQ(ctx, nullptr);
  expect_failure(vkattn_context_adopt(&external, nullptr, nullptr), VKATTN_INVALID_ARGUMENT,
                 "out is NULL");
  external.struct_size = 4;
  expect_failure(vkattn_context_adopt(&external, nullptr, &ctx), VKATTN_INVALID_ARGUMENT,
                 "external->struct_size=4");
  external = c_external(app().external());
  external.device = VK_NULL_HANDLE;
  expect_failure(vkattn_context_adopt(&external, nullptr, &ctx), VKATTN_INVALID_ARGUMENT, "device");
  vkattn_options cpu;
  vkattn_options_init(&cpu);
  cpu.backend = VKATTN_BACKEND_CPU;
  external = c_external(app().external());
  expect_failure(vkattn_context_adopt(&external, &cpu, &ctx), VKATTN_INVALID_ARGUMENT,
                 "options.backend=cpu");

  ASSERT_EQ(vkattn_context_adopt(&external, nullptr, &ctx), VKATTN_OK);
  const Case c = shape(1, 2, 2, 8, 16, 32, 32, 203);
  const RecordedCase rc(app(), c);
  const vkattn_attention_desc desc = c_desc(c);
  vkattn_device_inputs in = c_inputs(rc);
  const vkattn_device_outputs out = c_outputs(rc);
  const vk::raii::CommandBuffer cmd = app().make_command_buffer();
  cmd.begin(vk::CommandBufferBeginInfo{.flags = vk::CommandBufferUsageFlagBits::eOneTimeSubmit});
  vkattn_recording* rec = reinterpret_cast<vkattn_recording*>(&in);  // must become NULL
  expect_failure(vkattn_record_attention(ctx, VK_NULL_HANDLE, &desc, &in, &out, &rec),
                 VKATTN_INVALID_ARGUMENT, "cmd is null");
  EXPECT_EQ(rec, nullptr);
  expect_failure(vkattn_record_attention(ctx, *cmd, &desc, &in, &out, nullptr),
                 VKATTN_INVALID_ARGUMENT, "recording is NULL");
  expect_failure(vkattn_record_attention(ctx, *cmd, &desc, nullptr, &out, &rec),
                 VKATTN_INVALID_ARGUMENT, "inputs is NULL");
  vkattn_device_inputs old = in;
  old.struct_size = 8;
  expect_failure(vkattn_record_attention(ctx, *cmd, &desc, &old, &out, &rec),
                 VKATTN_INVALID_ARGUMENT, "inputs->struct_size=8");
  vkattn_device_inputs no_k = in;
  no_k.k.buffer = VK_NULL_HANDLE;
  expect_failure(vkattn_record_attention(ctx, *cmd, &desc, &no_k, &out, &rec),
                 VKATTN_INVALID_ARGUMENT, "k.buffer is null");
  vkattn_context* cpu_ctx = nullptr;
  ASSERT_EQ(vkattn_context_create(&cpu, &cpu_ctx), VKATTN_OK);
  expect_failure(vkattn_record_attention(cpu_ctx, *cmd, &desc, &in, &out, &rec), VKATTN_UNSUPPORTED,
                 "needs a Vulkan Context");
  vkattn_context_destroy(cpu_ctx);
  cmd.end();

  vkattn_plan plan;
  vkattn_plan_init(&plan);
  expect_failure(vkattn_recording_plan(nullptr, &plan), VKATTN_INVALID_ARGUMENT,
                 "recording is NULL");
  vkattn_recording_destroy(nullptr);  // ignored
  vkattn_context_destroy(ctx);
}

}  // namespace
}  // namespace vkattn::test
