// SPDX-License-Identifier: MIT
#include "cpu/thread_pool.hpp"

namespace vkattn::detail {

ThreadPool::ThreadPool(unsigned threads) {
  const unsigned n = threads > 0 ? threads : 1;
  workers_.reserve(n - 1);
  for (unsigned w = 1; w < n; ++w) workers_.emplace_back([this, w] { worker_loop(w); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  start_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::drain(unsigned worker) noexcept {
  for (;;) {
    const std::size_t task = next_.fetch_add(1, std::memory_order_relaxed);
    if (task >= count_) return;
    try {
      (*job_)(task, worker);
    } catch (...) {
      std::lock_guard lock(mutex_);
      if (!error_) error_ = std::current_exception();
      next_.store(count_, std::memory_order_relaxed);  // stop handing out work
    }
  }
}

void ThreadPool::worker_loop(unsigned worker) {
  std::uint64_t seen = 0;
  std::unique_lock lock(mutex_);
  for (;;) {
    start_.wait(lock, [&] { return stop_ || generation_ != seen; });
    if (stop_) return;
    seen = generation_;
    lock.unlock();
    drain(worker);
    lock.lock();
    if (--active_ == 0) done_.notify_one();
  }
}

void ThreadPool::parallel_for(std::size_t n, const Task& fn) {
  if (n == 0) return;
  if (workers_.empty() || n == 1) {
    // Nothing to share: skip the wake-up round trip.
    for (std::size_t t = 0; t < n; ++t) fn(t, 0);
    return;
  }
  {
    std::lock_guard lock(mutex_);
    job_ = &fn;
    count_ = n;
    next_.store(0, std::memory_order_relaxed);
    error_ = nullptr;
    active_ = static_cast<unsigned>(workers_.size());
    ++generation_;
  }
  start_.notify_all();
  drain(0);
  std::exception_ptr error;
  {
    std::unique_lock lock(mutex_);
    done_.wait(lock, [&] { return active_ == 0; });
    job_ = nullptr;
    error = error_;
    error_ = nullptr;
  }
  if (error) std::rethrow_exception(error);
}

}  // namespace vkattn::detail
