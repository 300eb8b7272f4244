// SPDX-License-Identifier: MIT
#pragma once

// Output files that appear all at once or not at all: data goes to a temporary file in the
// target's directory (so the final rename stays on one file system and is atomic), which is
// renamed over the target on commit and removed if the StagedFile dies uncommitted.

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>

namespace vkattn::cli {

class StagedFile {
 public:
  // Creates the temporary file next to `target`.
  // @throws std::system_error when it cannot be created (missing directory, permissions).
  explicit StagedFile(std::filesystem::path target);
  StagedFile(StagedFile&& other) noexcept;
  StagedFile& operator=(StagedFile&&) = delete;
  StagedFile(const StagedFile&) = delete;
  StagedFile& operator=(const StagedFile&) = delete;
  ~StagedFile();

  // Appends `bytes`. @throws std::system_error (e.g. the disk is full).
  void write(std::span<const std::uint8_t> bytes);
  // Flushes, closes and renames the temporary file to the target. @throws std::system_error.
  void commit();

  [[nodiscard]] const std::filesystem::path& target() const noexcept { return target_; }
  [[nodiscard]] const std::filesystem::path& temp_path() const noexcept { return temp_; }

 private:
  void discard() noexcept;

  std::filesystem::path target_;
  std::filesystem::path temp_;
  int fd_ = -1;
  bool committed_ = false;
};

// Writes `bytes` to `path` through a StagedFile.
void write_file_atomically(const std::filesystem::path& path, std::span<const std::uint8_t> bytes);

}  // namespace vkattn::cli
