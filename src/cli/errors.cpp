// SPDX-License-Identifier: MIT
#include "cli/errors.hpp"

#include <exception>
#include <iostream>
#include <new>

#include "cli/npy.hpp"
#include "core/parse.hpp"
#include "vkattn/error.hpp"

namespace vkattn::cli {

std::string one_line(std::string text) {
  for (char& c : text)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  while (!text.empty() && text.back() == ' ') text.pop_back();
  return text;
}

int report_current_exception() noexcept {
  // vkattn::Error messages already start with "vkattn: <code>: ".
  const auto print = [](const std::string& line) noexcept {
    try {
      std::cerr << one_line(line) << '\n' << std::flush;
    } catch (...) {  // nothing more can be done if stderr itself fails
    }
  };
  try {
    throw;
  } catch (const BadInput& e) {
    print(std::string("vkattn: error: ") + e.what());
    return kExitBadInput;
  } catch (const npy::Error& e) {
    print(std::string("vkattn: error: ") + e.what());
    return kExitBadInput;
  } catch (const Error& e) {
    print(e.what());
    const bool bad_input =
        e.code() == ErrorCode::invalid_argument || e.code() == ErrorCode::unsupported;
    return bad_input ? kExitBadInput : kExitFailure;
  } catch (const std::bad_alloc&) {
    print("vkattn: error: out of host memory");
  } catch (const std::exception& e) {
    print(std::string("vkattn: error: ") + e.what());
  } catch (...) {
    print("vkattn: error: unknown exception");
  }
  return kExitFailure;
}

Options make_options(const DeviceArgs& args) {
  Options o = Options::from_environment();
  if (args.backend) {
    const auto b = detail::parse_backend(*args.backend);
    if (!b) throw BadInput("--backend '" + *args.backend + "': expected auto, vulkan or cpu");
    o.backend = *b;
  }
  if (args.kernel) {
    const auto k = detail::parse_kernel(*args.kernel);
    if (!k)
      throw BadInput("--kernel '" + *args.kernel +
                     "': expected auto, three-pass, flash or split-kv");
    o.kernel = *k;
  }
  if (args.device) o.device = *args.device;
  if (args.validation) o.validation = true;
  return o;
}

}  // namespace vkattn::cli
