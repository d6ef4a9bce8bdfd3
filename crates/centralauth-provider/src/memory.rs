//! Process-wide allocator settings, applied once at start-up.

/// Lets the allocator give large freed blocks back to the system at once.
///
/// glibc raises its mmap threshold to the size of the largest mapped block freed so far (up to
/// 32 MiB). After the first argon2id hash (19 MiB, DESIGN §6) the next ones are then carved from
/// the heap of whichever thread runs them, and every blocking thread keeps its 19 MiB when the
/// hash is done: a few concurrent sign-ins left the provider 100 MiB or more larger for good.
/// Setting the threshold turns that adjustment off: blocks of 1 MiB and more are mapped, and
/// unmapped when freed. Call it before other threads start.
pub fn return_large_blocks_to_the_system() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        use std::ffi::c_int;
        // glibc's malloc.h.
        const M_MMAP_THRESHOLD: c_int = -3;
        unsafe extern "C" {
            fn mallopt(param: c_int, value: c_int) -> c_int;
        }
        // SAFETY: glibc's mallopt with a documented parameter and a value within its bounds;
        // it only changes the allocator's policy for later allocations.
        unsafe {
            mallopt(M_MMAP_THRESHOLD, 1024 * 1024);
        }
    }
}
