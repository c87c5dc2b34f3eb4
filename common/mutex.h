// The mutex shared state is guarded by: a std::mutex that clang's thread-safety
// analysis knows (-Wthread-safety checks ABSL_GUARDED_BY against it). Not absl::Mutex:
// Debian's abseil is built without ThreadSanitizer's annotations, so TSan would not see
// its locking and would report every guarded access as a race. Waits go through
// std::condition_variable_any, which takes a Mutex as it is.
#pragma once

#include <mutex>

#include "absl/base/thread_annotations.h"

namespace loadgen {

class ABSL_LOCKABLE Mutex {
 public:
  void Lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() { mu_.lock(); }
  void Unlock() ABSL_UNLOCK_FUNCTION() { mu_.unlock(); }
  // BasicLockable, for std::condition_variable_any (which unlocks and relocks it).
  void lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() { mu_.lock(); }
  void unlock() ABSL_UNLOCK_FUNCTION() { mu_.unlock(); }

 private:
  std::mutex mu_;
};

// Holds a Mutex for its scope.
class ABSL_SCOPED_LOCKABLE MutexLock {
 public:
  explicit MutexLock(Mutex* mu) ABSL_EXCLUSIVE_LOCK_FUNCTION(mu) : mu_(mu) { mu_->Lock(); }
  ~MutexLock() ABSL_UNLOCK_FUNCTION() { mu_->Unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex* const mu_;
};

}  // namespace loadgen
