# Every embedded shader variant, one line each. The NAME becomes vkattn::gpu::ShaderId::<NAME>
# (src/vulkan/shaders.cpp), so tests and benchmarks can iterate the list.
set(_s "${CMAKE_CURRENT_SOURCE_DIR}/shaders")
vkattn_add_shader(TARGET vkattn_vulkan NAME qk_scores    SOURCE ${_s}/qk_scores.comp)
vkattn_add_shader(TARGET vkattn_vulkan NAME softmax      SOURCE ${_s}/softmax.comp)
vkattn_add_shader(TARGET vkattn_vulkan NAME weighted_sum SOURCE ${_s}/weighted_sum.comp)
vkattn_add_shader(TARGET vkattn_vulkan NAME flash_attn   SOURCE ${_s}/flash_attn.comp)
vkattn_add_shader(TARGET vkattn_vulkan NAME flash_attn_texel SOURCE ${_s}/flash_attn.comp DEFINES VKATTN_TEXEL=1)
vkattn_add_shader(TARGET vkattn_vulkan NAME flash_attn_texel4 SOURCE ${_s}/flash_attn.comp DEFINES VKATTN_TEXEL=4)
vkattn_add_shader(TARGET vkattn_vulkan NAME flash_decode SOURCE ${_s}/flash_decode.comp)
vkattn_add_shader(TARGET vkattn_vulkan NAME flash_tiled  SOURCE ${_s}/flash_tiled.comp)
# f16 K/V (an f16 KvCache or an f16 call) through storage buffers, and the decode kernel's
# RGBA32UI view (8 halves a texel); the other texel paths widen through the view format.
vkattn_add_shader(TARGET vkattn_vulkan NAME flash_attn_kv_half SOURCE ${_s}/flash_attn.comp DEFINES VKATTN_KV_HALF=1)
vkattn_add_shader(TARGET vkattn_vulkan NAME flash_decode_kv_packed SOURCE ${_s}/flash_decode.comp DEFINES VKATTN_KV_PACKED=1)
vkattn_add_shader(TARGET vkattn_vulkan NAME flash_attn_texel4_kv_packed SOURCE ${_s}/flash_attn.comp DEFINES VKATTN_TEXEL=4 VKATTN_KV_PACKED=1)
vkattn_add_shader(TARGET vkattn_vulkan NAME flash_tiled_kv_half SOURCE ${_s}/flash_tiled.comp DEFINES VKATTN_KV_HALF=1)
# The same for a bf16 KvCache (no texel format widens bf16: RGBA32UI views where the head
# dims allow them, else storage buffers).
vkattn_add_shader(TARGET vkattn_vulkan NAME flash_attn_kv_bf16 SOURCE ${_s}/flash_attn.comp DEFINES VKATTN_KV_HALF=1 VKATTN_KV_BF16=1)
vkattn_add_shader(TARGET vkattn_vulkan NAME flash_decode_kv_bf16 SOURCE ${_s}/flash_decode.comp DEFINES VKATTN_KV_PACKED=1 VKATTN_KV_BF16=1)
vkattn_add_shader(TARGET vkattn_vulkan NAME flash_attn_texel4_kv_bf16 SOURCE ${_s}/flash_attn.comp DEFINES VKATTN_TEXEL=4 VKATTN_KV_PACKED=1 VKATTN_KV_BF16=1)
vkattn_add_shader(TARGET vkattn_vulkan NAME flash_tiled_kv_bf16 SOURCE ${_s}/flash_tiled.comp DEFINES VKATTN_KV_HALF=1 VKATTN_KV_BF16=1)
vkattn_add_shader(TARGET vkattn_vulkan NAME combine      SOURCE ${_s}/combine.comp)
