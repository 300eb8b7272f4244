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
# K/V from an f16 KvCache through storage buffers (texel paths widen through the view format).
vkattn_add_shader(TARGET vkattn_vulkan NAME flash_attn_kv_half SOURCE ${_s}/flash_attn.comp DEFINES VKATTN_KV_HALF=1)
vkattn_add_shader(TARGET vkattn_vulkan NAME flash_decode_kv_packed SOURCE ${_s}/flash_decode.comp DEFINES VKATTN_KV_PACKED=1)
vkattn_add_shader(TARGET vkattn_vulkan NAME flash_tiled_kv_half SOURCE ${_s}/flash_tiled.comp DEFINES VKATTN_KV_HALF=1)
vkattn_add_shader(TARGET vkattn_vulkan NAME combine      SOURCE ${_s}/combine.comp)
