// SPDX-License-Identifier: MIT
//
// main() of the register kernels (flash_attn.comp, flash_decode.comp): include it after the
// kernel's `void attend(uvec3 tile, uint slices)`, which computes one tile: a block of query
// rows (tile.x) of one batch and KV head (tile.y) over key slice tile.z of `slices`.
//
// CPU drivers (llvmpipe) hand each thread an equal share of a dispatch's workgroups before
// any runs, so the thread a busy host slows down decides the time while the others idle
// (8-19% of the two cores' time in flash prefill on lavapipe). With WORK_QUEUE the workgroups
// instead take tiles from a counter until none are left, x fastest: at most p.queue_take each
// (llvmpipe's loop budget counts every iteration of a workgroup), and the planner dispatches
// enough of them for every tile (src/vulkan/flash.cpp). The workgroup is one subgroup there.
// Without it, as on GPUs, the workgroup's id is its tile.

layout(constant_id = VKATTN_SPEC_WORK_QUEUE) const bool WORK_QUEUE = false;

// The next tile to take, zeroed before the dispatch.
layout(std430, binding = 7) buffer QueueBuffer { uint next_tile; };

void main() {
  if (!WORK_QUEUE) {
    attend(gl_WorkGroupID, gl_NumWorkGroups.z);
    return;
  }
  const uint tiles_xy = p.grid_x * p.batch * p.heads_kv;
  const uint tiles = tiles_xy * p.grid_z;
  for (uint n = 0u; n < p.queue_take; ++n) {
    uint tile = 0u;
    if (gl_SubgroupInvocationID == 0u) tile = atomicAdd(next_tile, 1u);
    tile = subgroupShuffle(tile, 0u);
    if (tile >= tiles) break;
    attend(uvec3(tile % p.grid_x, (tile % tiles_xy) / p.grid_x, tile / tiles_xy), p.grid_z);
  }
}
