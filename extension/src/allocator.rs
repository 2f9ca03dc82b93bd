//! The global allocator: mimalloc, called the way the system allocator is.
//!
//! glibc's malloc serves hyper's 8 KiB connection buffers and task allocations outside its
//! thread cache (~2,500 instructions more per new connection than mimalloc). The `mimalloc`
//! crate's own wrapper asks for every block through `mi_malloc_aligned`, whose slow path then
//! over-allocates hyper's 8 KiB read buffers on every request; like std's `System`, this one
//! asks for alignment only when the plain call would not give it.

use libmimalloc_sys::{
    mi_collect, mi_free, mi_malloc, mi_malloc_aligned, mi_realloc, mi_realloc_aligned, mi_zalloc,
    mi_zalloc_aligned,
};
use std::alloc::{GlobalAlloc, Layout};
use std::ffi::c_void;

/// What every `mi_malloc` block is aligned to (mimalloc's `MI_MAX_ALIGN_SIZE`) once it is at
/// least that large.
const PLAIN_ALIGN: usize = 16;

pub struct Mimalloc;

fn plain(align: usize, size: usize) -> bool {
    align <= PLAIN_ALIGN && align <= size
}

// SAFETY: every block comes from mimalloc with the layout's size and at least its alignment,
// and goes back to mimalloc (`mi_free` accepts blocks from every mimalloc allocation call).
unsafe impl GlobalAlloc for Mimalloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if plain(layout.align(), layout.size()) {
            unsafe { mi_malloc(layout.size()) as *mut u8 }
        } else {
            unsafe { mi_malloc_aligned(layout.size(), layout.align()) as *mut u8 }
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if plain(layout.align(), layout.size()) {
            unsafe { mi_zalloc(layout.size()) as *mut u8 }
        } else {
            unsafe { mi_zalloc_aligned(layout.size(), layout.align()) as *mut u8 }
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        unsafe { mi_free(ptr as *mut c_void) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if plain(layout.align(), new_size) {
            unsafe { mi_realloc(ptr as *mut c_void, new_size) as *mut u8 }
        } else {
            unsafe { mi_realloc_aligned(ptr as *mut c_void, new_size, layout.align()) as *mut u8 }
        }
    }
}

/// Returns the free pages of mimalloc's heaps to the system now, and glibc's too (C code in
/// the process may still use it), rather than when mimalloc's delayed purge gets to them.
pub fn release_free_memory() {
    // SAFETY: both only walk their allocator's own free lists; neither has preconditions.
    unsafe {
        mi_collect(true);
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        libc::malloc_trim(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_have_the_alignment_asked_for() {
        for (size, align) in [
            (1, 1),
            (8, 8),
            (24, 8),
            (8, 16),
            (16, 16),
            (100, 32),
            (8192, 4096),
        ] {
            let layout = Layout::from_size_align(size, align).unwrap();
            unsafe {
                let block = Mimalloc.alloc(layout);
                assert!(!block.is_null());
                assert_eq!(block as usize % align, 0, "{size} bytes aligned to {align}");
                block.write_bytes(0xAB, size);
                let grown = Mimalloc.realloc(block, layout, size * 3);
                assert_eq!(grown as usize % align, 0, "grown to {} bytes", size * 3);
                assert_eq!(*grown.add(size - 1), 0xAB, "contents kept");
                Mimalloc.dealloc(grown, Layout::from_size_align(size * 3, align).unwrap());
                let zeroed = Mimalloc.alloc_zeroed(layout);
                assert!(std::slice::from_raw_parts(zeroed, size)
                    .iter()
                    .all(|b| *b == 0));
                Mimalloc.dealloc(zeroed, layout);
            }
        }
    }
}
