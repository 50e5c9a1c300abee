import Foundation

/// An fp32 operand of mixed-precision products that is also held in bf16, so that a product
/// reads the copy instead of rounding the operand again.
protocol BFloat16Operand: AnyObject, Sendable {
    /// The bf16 value matching the float at `pointer` (same layout and leading dimension), or nil
    /// when `pointer` is not part of this operand.
    func bfloat16(at pointer: UnsafePointer<Float>) -> UnsafePointer<UInt16>?
}

/// The operands held in bf16 while `using` runs: `BLAS.gemm` in bf16 mode asks them for its A
/// and B, from any thread (the parts of a split product run on other threads).
enum BFloat16Operands {
    private static let active = Locked<[any BFloat16Operand]>([])

    /// Runs `body` with `operand`'s bf16 copy used by every product that reads it. The fp32 values
    /// must not change while `body` runs.
    static func using<R>(_ operand: any BFloat16Operand, _ body: () throws -> R) rethrows -> R {
        active.withLock { $0.append(operand) }
        defer { active.withLock { list in list.removeAll { $0 === operand } } }
        return try body()
    }

    /// The bf16 copy of the operand at `pointer`, or nil when none is held.
    static func bfloat16(at pointer: UnsafePointer<Float>) -> UnsafePointer<UInt16>? {
        active.withLock { list in
            if list.isEmpty { return nil }
            for operand in list { if let found = operand.bfloat16(at: pointer) { return found } }
            return nil
        }
    }
}

/// A matrix rounded to bf16 where it was computed (e.g. the output layer's logit gradient,
/// rounded row by row by the softmax while the row is in cache).   fp32 `[count]` ↔ bf16 `[count]`
final class RoundedOperand: BFloat16Operand, @unchecked Sendable {
    private let floats: UnsafePointer<Float>
    private let count: Int
    private let rounded: UnsafePointer<UInt16>

    init(floats: UnsafePointer<Float>, count: Int, rounded: UnsafePointer<UInt16>) {
        (self.floats, self.count, self.rounded) = (floats, count, rounded)
    }

    func bfloat16(at pointer: UnsafePointer<Float>) -> UnsafePointer<UInt16>? {
        let offset = pointer - floats
        return offset >= 0 && offset < count ? rounded + offset : nil
    }
}

/// A growable buffer of bf16 values (the upper halves of IEEE floats).
final class BFloat16Buffer {
    private(set) var pointer: UnsafeMutablePointer<UInt16>
    private var capacity: Int

    init() {
        capacity = 1
        pointer = .allocate(capacity: 1)
    }

    deinit { pointer.deallocate() }

    /// Room for `count` values (contents not kept when it grows).
    func reserve(_ count: Int) -> UnsafeMutablePointer<UInt16> {
        if count > capacity {
            pointer.deallocate()
            capacity = max(count, capacity * 3 / 2)
            pointer = .allocate(capacity: capacity)
        }
        return pointer
    }
}

/// A value behind a lock.
final class Locked<Value>: @unchecked Sendable {
    private var value: Value
    private let lock = NSLock()
    init(_ value: Value) { self.value = value }
    func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
