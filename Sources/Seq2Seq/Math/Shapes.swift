import Foundation
import Tokenize

// Seq2Seq: an LSTM encoder-decoder with hand-written forward and backward passes
// over OpenBLAS.
//
// Shape letters, used in every buffer comment:
//   B  batch rows               S  padded source length     T  padded target length
//   E  embedding size           H  hidden size              V  vocabulary size
//   L  LSTM layers              N  packed rows = Σ over rows of the sequence length
//                                  (Ns for the source side, Nt for the target side)
//
// Packed layout: a batch is sorted by length (longest first), and time step t
// keeps only the first b_t rows that are still active. Packed row `offset[t] + r`
// holds step t of sorted row r, so a [N, D] buffer has no padding at all and
// every time-independent product (input projections, output layer) is one GEMM.
//
// Matrices are row-major; weights are [out, in] like PyTorch, so `y = x · Wᵀ`.
// LSTM gate order is i, f, g, o (PyTorch).

/// `count` zeroed floats from `calloc`: large blocks come straight from the kernel as
/// zero pages, so memory that is never written (e.g. the gradients of a model used
/// only for inference) is never touched, faulted in or counted in the resident set.
/// Free with `free`.
func allocateZeroedFloats(_ count: Int) -> UnsafeMutablePointer<Float> {
    guard let raw = calloc(max(count, 1), MemoryLayout<Float>.stride) else {
        fatalError("out of memory allocating \(count) floats")
    }
    MemoryAdvice.preferHugePages(raw, byteCount: max(count, 1) * MemoryLayout<Float>.stride)
    return raw.bindMemory(to: Float.self, capacity: max(count, 1))
}

/// A growable float buffer reused across steps: `reserve` reallocates only when
/// a larger capacity is needed, so steady-state training allocates nothing.
final class FloatBuffer {
    private(set) var pointer: UnsafeMutablePointer<Float>
    private(set) var capacity: Int

    init(capacity: Int = 0) {
        self.capacity = max(capacity, 1)
        pointer = allocateZeroedFloats(self.capacity)
    }

    deinit { free(pointer) }

    /// Makes room for `count` floats and returns the base pointer. Contents are
    /// not preserved when the buffer grows.
    @discardableResult
    func reserve(_ count: Int) -> UnsafeMutablePointer<Float> {
        if count > capacity {
            free(pointer)
            capacity = max(count, capacity * 3 / 2)
            pointer = allocateZeroedFloats(capacity)
        }
        return pointer
    }

    /// Reserves `count` floats and sets them to zero.
    @discardableResult
    func zeroed(_ count: Int) -> UnsafeMutablePointer<Float> {
        let p = reserve(count)
        p.update(repeating: 0, count: count)
        return p
    }

    /// Copies the first `count` floats into an array (tests and debugging).
    func array(_ count: Int) -> [Float] { Array(UnsafeBufferPointer(start: pointer, count: count)) }
}
