//! A cache prefetch hint, for loops whose time goes to waiting on memory
//! they can name a few iterations ahead (replay's appliers).

/// Asks the CPU to start loading the cache line at `ptr`. A hint only: it
/// never faults, whatever the address, and does nothing off x86-64.
#[inline]
pub(crate) fn prefetch<T>(ptr: *const T) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        // SAFETY: prefetching never dereferences in a way that can fault.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(ptr.cast()) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = ptr;
}

/// [`prefetch`] for every cache line `value` spans.
#[inline]
pub(crate) fn prefetch_all<T>(value: &T) {
    let start = (value as *const T).cast::<u8>();
    let mut offset = 0;
    while offset < std::mem::size_of::<T>() {
        prefetch(start.wrapping_add(offset));
        offset += 64;
    }
}
