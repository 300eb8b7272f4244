// SPDX-License-Identifier: MIT
#pragma once

// A small persistent pool for the CPU fallback: the threads are created once (per backend)
// and woken per call, because spawning threads per call costs ~50 µs each, which is the
// whole runtime of a small decode step.

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace vkattn::detail {

class ThreadPool {
 public:
  // Runs tasks on `threads` threads in all: the calling thread plus threads - 1 workers
  // (0 is treated as 1).
  explicit ThreadPool(unsigned threads);
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;
  ~ThreadPool();

  [[nodiscard]] unsigned size() const noexcept {
    return static_cast<unsigned>(workers_.size()) + 1;
  }

  // Calls fn(task, worker) for every task in [0, n), handing tasks out dynamically (first
  // come, first served, so uneven tasks balance), and returns when all are done. `worker` is
  // in [0, size()) and unique among concurrent calls, for per-thread scratch. The first
  // exception a task throws is rethrown here after the others finish. Not re-entrant: one
  // parallel_for at a time per pool.
  using Task = std::function<void(std::size_t task, unsigned worker)>;
  void parallel_for(std::size_t n, const Task& fn);

 private:
  void worker_loop(unsigned worker);
  void drain(unsigned worker) noexcept;

  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable start_;
  std::condition_variable done_;
  std::uint64_t generation_ = 0;  // bumped per job so a worker never runs one job twice
  bool stop_ = false;
  unsigned active_ = 0;  // workers still draining the current job
  const Task* job_ = nullptr;
  std::size_t count_ = 0;
  std::atomic<std::size_t> next_{0};
  std::exception_ptr error_;
};

}  // namespace vkattn::detail
