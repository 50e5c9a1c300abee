#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Temporary files that must not outlive the process: an atomic write's
/// temporary is registered while it exists, so that a signal handler can
/// remove it before the process ends (`removeAllNow` is async-signal-safe:
/// fixed storage, no allocation, only `unlink`).
///
/// Paths longer than `slotSize − 1` bytes, or more than `slotCount` at once,
/// are not registered (the write itself still works).
public enum PendingFiles {
    static let slotCount = 16
    static let slotSize = 4096

    /// `slotCount` NUL-terminated paths; a slot whose first byte is 0 is free.
    nonisolated(unsafe) private static let storage: UnsafeMutablePointer<CChar> = {
        let p = UnsafeMutablePointer<CChar>.allocate(capacity: slotCount * slotSize)
        p.initialize(repeating: 0, count: slotCount * slotSize)
        return p
    }()

    /// Makes sure the storage exists before a signal handler may read it
    /// (lazy globals must not be initialized inside a handler).
    public static func prepare() { _ = storage }

    /// Registers `path`; returns its slot for `unregister`, or nil if it could not be kept.
    static func register(_ path: String) -> Int? {
        let bytes = Array(path.utf8)
        guard !bytes.isEmpty, bytes.count < slotSize, !bytes.contains(0) else { return nil }
        for slot in 0..<slotCount where storage[slot * slotSize] == 0 {
            let base = storage + slot * slotSize
            base[bytes.count] = 0
            for (i, b) in bytes.enumerated().reversed() { base[i] = CChar(bitPattern: b) }   // first byte last
            return slot
        }
        return nil
    }

    /// Forgets the path in `slot` (after it was renamed into place or removed).
    static func unregister(_ slot: Int?) {
        guard let slot else { return }
        storage[slot * slotSize] = 0
    }

    /// Removes every registered file. Async-signal-safe.
    public static func removeAllNow() {
        for slot in 0..<slotCount where storage[slot * slotSize] != 0 {
            unlink(storage + slot * slotSize)
        }
    }
}
