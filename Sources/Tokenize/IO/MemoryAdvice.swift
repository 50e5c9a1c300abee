#if canImport(Glibc)
import Glibc
#endif

/// Hints to the kernel about large buffers.
public enum MemoryAdvice {
    /// Buffers below this size are left alone (a huge page is 2 MiB).
    static let minimumBytes = 4 << 20

    /// Asks for transparent huge pages on the whole 2 MiB-aligned interior of a large buffer that
    /// has not been touched yet (`madvise(MADV_HUGEPAGE)`; a no-op where the kernel does not
    /// offer them). Filling a fresh 30 MB model buffer then takes 15 page faults instead of
    /// 7,500, which was a third of `translate`'s start-up; the contents are unchanged (fresh
    /// pages are zero either way).
    public static func preferHugePages(_ pointer: UnsafeMutableRawPointer, byteCount: Int) {
        #if os(Linux)
        guard byteCount >= minimumBytes else { return }
        let huge = 2 << 20
        let start = (UInt(bitPattern: pointer) + UInt(huge - 1)) & ~UInt(huge - 1)
        let end = (UInt(bitPattern: pointer) + UInt(byteCount)) & ~UInt(huge - 1)
        guard end > start, let base = UnsafeMutableRawPointer(bitPattern: start) else { return }
        _ = madvise(base, Int(end - start), MADV_HUGEPAGE)
        #endif
    }
}
