// SPDX-License-Identifier: MIT
#pragma once

/// @file
/// Umbrella header: everything a user of vkattn needs.

#include "vkattn/context.hpp"
#include "vkattn/error.hpp"
#include "vkattn/kv_cache.hpp"
#include "vkattn/types.hpp"
