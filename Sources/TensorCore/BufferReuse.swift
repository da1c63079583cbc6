#if canImport(CMalloc)
import CMalloc
#endif

/// Memory reuse between training steps.
///
/// A training step allocates the same large buffers every time (activations, column
/// matrices, gradients: up to tens of MB each). glibc's malloc by default serves blocks above
/// its mmap threshold (at most 32 MB) with fresh `mmap`s and returns freed memory at the top of
/// the heap to the kernel, so every step pays for page faults and zero-filling again.
/// `keepFreedMemory()` makes malloc itself the buffer pool: every block comes from the heap
/// and freed memory stays mapped for the next step, so resident memory plateaus at one
/// step's working set (measured flat over 200 steps; see `concord bench conv`/`train`).
public enum BufferReuse {
    nonisolated(unsafe) private static var done = false

    /// Call once at start-up, before the first large allocation.
    public static func keepFreedMemory() {
        #if canImport(CMalloc)
        guard !done else { return }
        done = true
        // NOTE: setting the trim threshold also switches off glibc's dynamic mmap threshold,
        // which then stays at its 128 KB default; and M_MMAP_THRESHOLD refuses values above
        // 32 MB. So mmap is switched off outright (M_MMAP_MAX 0): every block, however large,
        // comes from a heap and is reused.
        mallopt(M_MMAP_MAX, 0)
        mallopt(M_TRIM_THRESHOLD, Int32.max)  // never hand the heap's free top back to the kernel
        mallopt(M_TOP_PAD, 64 << 20)          // grow the heap in 64 MB steps
        #endif
    }
}
