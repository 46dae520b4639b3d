//! The program's allocator: mimalloc, with the largest blocks kept for reuse once freed.
//!
//! mimalloc serves a block over 32 MiB (a column of 4M customers and more) straight from the
//! system and hands it back when it is freed, so the next step's columns of the same length
//! are fresh pages again, each one faulted in and zeroed by the kernel: at 100M rows (18.2M
//! customers) a whole analysis faulted 15M pages, and a page costs about 2.8 µs on this
//! kind of virtual machine (docs/BENCHMARKS.md, 2026-12-07), a fifth of the run's CPU time.
//! Freed huge blocks are kept instead, up to a budget that the memory watcher sets from the
//! limit and empties before it reads the run's memory ([`return_kept`]), and the next
//! allocation that fits one takes it, pages already in place.
//!
//! A huge block carries its capacity in a header page in front of it, so a block kept can be
//! lent for any request it holds with little slack, and a vector growing inside its block
//! grows in place.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use mimalloc::MiMalloc;

/// Blocks from this size up are kept once freed: mimalloc's arenas hold objects up to
/// 32 MiB and reuse them on their own; larger ones are mapped for each allocation.
const HUGE: usize = 32 << 20;

/// Room in front of a huge block for its capacity: one page, so the block keeps any
/// alignment up to a page.
const HEADER: usize = 4096;

/// Blocks kept at most (a step frees a handful of columns at a time).
const SLOTS: usize = 32;

/// The allocator: [`MiMalloc`], with freed huge blocks kept for reuse.
pub struct KeepHuge;

/// Bytes of freed huge blocks that may be kept; 0 (until a limit sets it): none.
static BUDGET: AtomicUsize = AtomicUsize::new(0);

static KEPT: Mutex<Kept> = Mutex::new(Kept {
    blocks: [Block::NONE; SLOTS],
    bytes: 0,
    clock: 0,
});

/// Keeps up to `bytes` of freed huge blocks for reuse from now on.
pub fn keep_up_to(bytes: usize) {
    BUDGET.store(bytes, Ordering::Relaxed);
}

/// Hands every kept block back to the system.
pub fn return_kept() {
    let taken = lock().take_all();
    for b in taken.iter().filter(|b| b.base != 0) {
        // SAFETY: a kept block is lent to no one (it left the list under the lock).
        unsafe { b.free() }
    }
}

fn lock() -> std::sync::MutexGuard<'static, Kept> {
    // the list is left consistent at every step, so a panic elsewhere leaves it usable
    KEPT.lock().unwrap_or_else(|p| p.into_inner())
}

/// A huge block: its start (the header) and the capacity after the header.
#[derive(Clone, Copy)]
struct Block {
    base: usize,
    capacity: usize,
    /// When it was kept: the oldest goes first when the budget is full.
    stamp: u64,
}

impl Block {
    const NONE: Block = Block {
        base: 0,
        capacity: 0,
        stamp: 0,
    };

    /// Hands the block back to mimalloc.
    ///
    /// # Safety
    /// The block is lent to no one.
    unsafe fn free(&self) {
        if let Some(layout) = whole(self.capacity) {
            // SAFETY: mimalloc allocated the block with this layout (see `lend`).
            unsafe { MiMalloc.dealloc(self.base as *mut u8, layout) }
        }
    }
}

/// The layout mimalloc is asked for a huge block of `capacity`, header included.
fn whole(capacity: usize) -> Option<Layout> {
    Layout::from_size_align(capacity.checked_add(HEADER)?, HEADER).ok()
}

struct Kept {
    blocks: [Block; SLOTS],
    /// Bytes held, headers included.
    bytes: usize,
    clock: u64,
}

impl Kept {
    /// The smallest kept block that holds `size` with at most a quarter to spare.
    fn take(&mut self, size: usize) -> Option<Block> {
        let most = size.saturating_add(size / 4);
        let (at, _) = self
            .blocks
            .iter()
            .enumerate()
            .filter(|(_, b)| b.base != 0 && b.capacity >= size && b.capacity <= most)
            .min_by_key(|(_, b)| b.capacity)?;
        let b = std::mem::replace(&mut self.blocks[at], Block::NONE);
        self.bytes -= b.capacity + HEADER;
        Some(b)
    }

    /// Keeps `b` within `budget`, making room by letting the oldest go: those are returned
    /// (with `b` itself where it is larger than the budget), for the caller to free.
    fn keep(&mut self, mut b: Block, budget: usize) -> [Block; SLOTS + 1] {
        let mut out = [Block::NONE; SLOTS + 1];
        let size = b.capacity + HEADER;
        if size > budget {
            out[0] = b;
            return out;
        }
        let mut n = 0;
        loop {
            let free = self.blocks.iter().position(|k| k.base == 0);
            if self.bytes + size <= budget
                && let Some(at) = free
            {
                self.clock += 1;
                b.stamp = self.clock;
                self.blocks[at] = b;
                self.bytes += size;
                return out;
            }
            let Some(oldest) = (0..SLOTS)
                .filter(|&i| self.blocks[i].base != 0)
                .min_by_key(|&i| self.blocks[i].stamp)
            else {
                // nothing left to let go and still no room: cannot happen, as size ≤ budget
                out[n] = b;
                return out;
            };
            let old = std::mem::replace(&mut self.blocks[oldest], Block::NONE);
            self.bytes -= old.capacity + HEADER;
            out[n] = old;
            n += 1;
        }
    }

    fn take_all(&mut self) -> [Block; SLOTS] {
        self.bytes = 0;
        std::mem::replace(&mut self.blocks, [Block::NONE; SLOTS])
    }
}

/// Whether a layout is served as a huge block of ours (larger alignments go to mimalloc).
fn huge(layout: &Layout) -> bool {
    layout.size() >= HUGE && layout.align() <= HEADER
}

impl KeepHuge {
    /// A huge block of at least `size`: a kept one, or a new one (zeroed where `zeroed`).
    unsafe fn lend(&self, size: usize, zeroed: bool) -> *mut u8 {
        if let Some(b) = lock().take(size) {
            let p = (b.base + HEADER) as *mut u8;
            if zeroed {
                // SAFETY: the block holds `capacity` ≥ `size` bytes after its header.
                unsafe { std::ptr::write_bytes(p, 0, size) };
            }
            return p;
        }
        let Some(layout) = whole(size) else {
            return std::ptr::null_mut();
        };
        // SAFETY: a non-zero size and a power-of-two alignment.
        let base = unsafe {
            if zeroed {
                MiMalloc.alloc_zeroed(layout)
            } else {
                MiMalloc.alloc(layout)
            }
        };
        if base.is_null() {
            return base;
        }
        // SAFETY: the header is the block's first page, ours, and aligned for a usize.
        unsafe {
            (base as *mut usize).write(size);
            base.add(HEADER)
        }
    }

    /// Takes back a huge block lent at `p`: kept, or freed where the budget has no room.
    unsafe fn take_back(&self, p: *mut u8) {
        // SAFETY: `p` was lent by `lend`, one header past the block's start.
        let (base, capacity) = unsafe {
            let base = p.sub(HEADER);
            (base, (base as *const usize).read())
        };
        let b = Block {
            base: base as usize,
            capacity,
            stamp: 0,
        };
        let budget = BUDGET.load(Ordering::Relaxed);
        let freed = lock().keep(b, budget);
        for f in freed.iter().filter(|f| f.base != 0) {
            // SAFETY: each left the list (or was never in it) and is lent to no one.
            unsafe { f.free() }
        }
    }

    /// The capacity of the huge block lent at `p`.
    unsafe fn capacity(p: *mut u8) -> usize {
        // SAFETY: as in `take_back`.
        unsafe { (p.sub(HEADER) as *const usize).read() }
    }
}

// SAFETY: every block is mimalloc's; a huge block is lent to one owner at a time (it leaves
// the kept list under the lock before it is lent, and joins it only when given back).
unsafe impl GlobalAlloc for KeepHuge {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if huge(&layout) {
            // SAFETY: forwarded contract.
            unsafe { self.lend(layout.size(), false) }
        } else {
            // SAFETY: forwarded contract.
            unsafe { MiMalloc.alloc(layout) }
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if huge(&layout) {
            // SAFETY: forwarded contract.
            unsafe { self.lend(layout.size(), true) }
        } else {
            // SAFETY: forwarded contract.
            unsafe { MiMalloc.alloc_zeroed(layout) }
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if huge(&layout) {
            // SAFETY: a huge layout was lent by `lend`.
            unsafe { self.take_back(ptr) }
        } else {
            // SAFETY: forwarded contract.
            unsafe { MiMalloc.dealloc(ptr, layout) }
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let Ok(new) = Layout::from_size_align(new_size, layout.align()) else {
            return std::ptr::null_mut();
        };
        let (was, will) = (huge(&layout), huge(&new));
        if !was && !will {
            // SAFETY: forwarded contract.
            return unsafe { MiMalloc.realloc(ptr, layout, new_size) };
        }
        if was && will {
            // SAFETY: `ptr` was lent by `lend` (its layout is huge).
            let capacity = unsafe { Self::capacity(ptr) };
            if (capacity / 2..=capacity).contains(&new_size) {
                // room in the block: it grows (or shrinks a little) in place
                return ptr;
            }
        }
        // SAFETY: `new` is a valid layout; the old block is read before it is given back,
        // and both are at least `min(old, new)` long.
        unsafe {
            let p = self.alloc(new);
            if !p.is_null() {
                std::ptr::copy_nonoverlapping(ptr, p, layout.size().min(new_size));
                self.dealloc(ptr, layout);
            }
            p
        }
    }
}

/// Tests that free kept blocks or count on them being kept take turns.
#[cfg(test)]
pub(crate) static SERIAL: Mutex<()> = Mutex::new(());

#[cfg(test)]
mod tests {
    use super::*;

    fn block(base: usize, capacity: usize) -> Block {
        Block {
            base,
            capacity,
            stamp: 0,
        }
    }

    #[test]
    fn a_kept_block_is_lent_for_a_request_it_holds_with_little_to_spare() {
        let mut k = Kept {
            blocks: [Block::NONE; SLOTS],
            bytes: 0,
            clock: 0,
        };
        let mb = 1 << 20;
        assert!(
            k.keep(block(1, 100 * mb), usize::MAX)
                .iter()
                .all(|b| b.base == 0)
        );
        assert!(
            k.keep(block(2, 40 * mb), usize::MAX)
                .iter()
                .all(|b| b.base == 0)
        );
        assert!(k.take(101 * mb).is_none(), "too small");
        assert!(k.take(79 * mb).is_none(), "more than a quarter to spare");
        assert_eq!(
            k.take(36 * mb).map(|b| b.base),
            Some(2),
            "the smallest that fits"
        );
        assert_eq!(k.take(90 * mb).map(|b| b.base), Some(1));
        assert_eq!(k.bytes, 0);
    }

    #[test]
    fn the_oldest_blocks_go_first_when_the_budget_is_full() {
        let mut k = Kept {
            blocks: [Block::NONE; SLOTS],
            bytes: 0,
            clock: 0,
        };
        let mb = 1 << 20;
        let budget = 3 * (40 * mb + HEADER);
        for base in 1..=3 {
            assert!(
                k.keep(block(base, 40 * mb), budget)
                    .iter()
                    .all(|b| b.base == 0)
            );
        }
        let out = k.keep(block(4, 40 * mb), budget);
        let freed: Vec<usize> = out.iter().filter(|b| b.base != 0).map(|b| b.base).collect();
        assert_eq!(freed, vec![1]);
        assert_eq!(k.bytes, budget);
        // larger than the whole budget: handed straight back
        let out = k.keep(block(5, 200 * mb), budget);
        assert_eq!(out[0].base, 5);
        assert_eq!(k.take_all().iter().filter(|b| b.base != 0).count(), 3);
        assert_eq!(k.bytes, 0);
    }

    /// Through the real allocator: a huge vector freed and asked for again gets the same
    /// pages back, zeroed where asked, grows in place within its block, and the budget and
    /// `return_kept` bound what is kept.
    #[test]
    fn huge_blocks_come_back_through_the_allocator() {
        let _turn = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
        keep_up_to(1 << 30);
        let n = (40 << 20) / 8;
        let mut v = vec![7u64; n];
        let first = v.as_ptr() as usize;
        drop(std::mem::take(&mut v));
        let w = vec![0u64; n];
        assert_eq!(w.as_ptr() as usize, first, "the kept block is lent again");
        assert!(w.iter().all(|&x| x == 0), "zeroed on request");
        drop(w);
        let mut g: Vec<u64> = Vec::with_capacity(n - 1000);
        g.extend(std::iter::repeat_n(3, n - 1000));
        let at = g.as_ptr() as usize;
        g.reserve_exact(500);
        assert_eq!(g.as_ptr() as usize, at, "grows in place within its block");
        assert!(g.iter().all(|&x| x == 3));
        drop(g);
        return_kept();
        assert_eq!(lock().bytes, 0);
    }
}
