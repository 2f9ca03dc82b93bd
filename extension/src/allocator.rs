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

/// mimalloc's `mi_option_arena_reserve` (v3's `mi_option_e`; the crate does not name it).
const MI_OPTION_ARENA_RESERVE: libmimalloc_sys::mi_option_t = 23;
/// The first arena's size in KiB: mimalloc's minimum, 32 MiB, rather than its 1 GiB default.
/// An arena's bookkeeping (a bitmap per size class over all its slices) sits in its first pages
/// and is written when it is set up: for 1 GiB, 46 pages (~60 µs of page faults) before `main`
/// runs, on every cold start. Later arenas grow from this size as mimalloc needs them.
const ARENA_RESERVE_KIB: std::ffi::c_long = 32 * 1024;

/// Runs before `main` and before Rust's runtime makes the first allocation (which sets up the
/// first arena): constructors in `.init_array` run first.
extern "C" fn small_first_arena() {
    // SAFETY: sets one option value; mimalloc reads options when it next needs them.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_ARENA_RESERVE, ARENA_RESERVE_KIB) }
}

#[used]
#[unsafe(link_section = ".init_array")]
static SMALL_FIRST_ARENA: extern "C" fn() = small_first_arena;

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
    fn the_first_arena_is_set_small_before_main() {
        // The constructor ran in this test binary too.
        let get = |option| unsafe { libmimalloc_sys::mi_option_get(option) };
        assert_eq!(get(MI_OPTION_ARENA_RESERVE), ARENA_RESERVE_KIB);
        // The index is where v3 puts it: two after the three options with telling defaults
        // (max_errors = 32, max_warnings = 32, max_segment_reclaim = 10).
        let before = MI_OPTION_ARENA_RESERVE - 4;
        assert_eq!(
            [get(before), get(before + 1), get(before + 2)],
            [32, 32, 10]
        );
    }

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
