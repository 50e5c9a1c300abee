import Foundation

/// The bf16 copies of a model's weights that mixed-precision training (`--precision bf16`)
/// multiplies with: each tensor is rounded once per step, when a product first reads it, instead
/// of at every product (a recurrent weight is multiplied at every time step, forward and
/// backward, and rounding it there was most of the rounding work of a step).
///
/// `during(_:)` brackets one step's forward and backward, while the weights do not change;
/// inside it every bf16 product whose operand lies in `parameters` reads the copy (same layout,
/// same leading dimension). Outside it, and in fp32, products round (or not) as before, so the
/// numbers are the same either way.
final class BFloat16WeightCopy: @unchecked Sendable {
    private let parameters: ParameterBuffer
    private var copy: UnsafeMutablePointer<UInt16>?  // [parameters.count], the layout of parameters (first bf16 step)
    private var isRounded: [Bool]                    // per entry of parameters, this step
    private let lock = NSLock()                      // products of concurrent parts may ask at once

    init(parameters: ParameterBuffer) {
        self.parameters = parameters
        isRounded = Array(repeating: false, count: parameters.entries.count)
    }

    deinit { copy?.deallocate() }

    /// Runs `body` — a forward and backward that leave the weights unchanged — with bf16 products
    /// reading the weights rounded once. Without bf16 products it just runs `body`.
    func during<R>(_ body: () throws -> R) rethrows -> R {
        guard BLAS.roundsToBFloat16 else { return try body() }
        lock.withLock {
            if copy == nil { copy = .allocate(capacity: max(parameters.count, 1)) }
            isRounded = Array(repeating: false, count: isRounded.count)
        }
        return try BFloat16Operands.using(self, body)
    }

    /// The copy of the float at `pointer` (its tensor rounded now if this step has not yet), or
    /// nil when `pointer` is not inside `parameters`.
    private func rounded(at pointer: UnsafePointer<Float>) -> UnsafePointer<UInt16>? {
        let offset = pointer - UnsafePointer(parameters.pointer)
        guard offset >= 0, offset < parameters.count, let copy else { return nil }
        let entries = parameters.entries
        var (lo, hi) = (0, entries.count - 1)   // the last entry starting at or before offset
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if entries[mid].offset <= offset { lo = mid } else { hi = mid - 1 }
        }
        let entry = entries[lo]
        lock.withLock {
            if !isRounded[lo] {
                BLAS.roundToBFloat16(parameters.pointer + entry.offset, count: entry.count, into: copy + entry.offset)
                isRounded[lo] = true
            }
        }
        return UnsafePointer(copy + offset)
    }
}

extension BFloat16WeightCopy: BFloat16Operand {
    func bfloat16(at pointer: UnsafePointer<Float>) -> UnsafePointer<UInt16>? { rounded(at: pointer) }
}
