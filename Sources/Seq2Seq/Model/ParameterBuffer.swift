import Foundation

/// One flat float buffer holding every parameter tensor back to back, with
/// named views. Gradients and Adam moments are `ParameterBuffer`s of the same
/// layout, so clipping, the optimizer and checkpointing are single loops.
public final class ParameterBuffer {
    /// One named tensor inside the buffer.
    public struct Entry: Sendable, Equatable {
        public let name: String
        public let shape: [Int]
        /// First float of the tensor in the buffer.
        public let offset: Int
        /// Number of floats (product of `shape`).
        public let count: Int
    }

    /// Tensors in buffer order.
    public let entries: [Entry]
    /// Total number of floats.
    public let count: Int
    /// Base pointer of the buffer (owned and freed on deinit, or borrowed from `storage`).
    public let pointer: UnsafeMutablePointer<Float>
    private let index: [String: Int]
    /// What owns borrowed floats (a mapped checkpoint file); nil when `pointer` is ours.
    private let storage: AnyObject?

    /// Allocates a zeroed buffer with the given tensor layout.
    public convenience init(shapes: [(name: String, shape: [Int])]) {
        let count = shapes.reduce(0) { $0 + $1.shape.reduce(1, *) }
        self.init(shapes: shapes, pointer: allocateZeroedFloats(max(count, 1)), storage: nil)
    }

    /// A buffer over `floats` (at least the layout's count), which `storage` owns and this
    /// buffer keeps alive: a checkpoint's parameters used where the file is mapped.
    convenience init(shapes: [(name: String, shape: [Int])], borrowing floats: UnsafeMutablePointer<Float>, keepingAlive storage: AnyObject) {
        self.init(shapes: shapes, pointer: floats, storage: storage)
    }

    private init(shapes: [(name: String, shape: [Int])], pointer: UnsafeMutablePointer<Float>, storage: AnyObject?) {
        var list = [Entry]()
        var offset = 0
        for (name, shape) in shapes {
            let n = shape.reduce(1, *)
            list.append(Entry(name: name, shape: shape, offset: offset, count: n))
            offset += n
        }
        entries = list
        count = offset
        self.pointer = pointer
        self.storage = storage
        index = Dictionary(uniqueKeysWithValues: list.enumerated().map { ($1.name, $0) })
    }

    /// A zeroed buffer with the same layout as `other`.
    public convenience init(layoutOf other: ParameterBuffer) {
        self.init(shapes: other.entries.map { ($0.name, $0.shape) })
    }

    deinit { if storage == nil { free(pointer) } }

    /// The entry named `name`, or nil.
    public func entry(_ name: String) -> Entry? { index[name].map { entries[$0] } }

    /// Pointer to the tensor named `name`. The name must be one of `entries`
    /// (layer code only asks for names it created).
    public func view(_ name: String) -> UnsafeMutablePointer<Float> {
        guard let i = index[name] else { preconditionFailure("no parameter named \(name)") }
        return pointer + entries[i].offset
    }

    /// The tensor's values as an array (tests, checkpoints).
    public func values(_ name: String) -> [Float] {
        guard let e = entry(name) else { return [] }
        return Array(UnsafeBufferPointer(start: pointer + e.offset, count: e.count))
    }

    /// Overwrites the tensor's values; `values.count` must equal its size.
    public func setValues(_ name: String, _ values: [Float]) {
        guard let e = entry(name), e.count == values.count else {
            preconditionFailure("setValues: \(name) expects \(entry(name)?.count ?? -1) values, got \(values.count)")
        }
        if e.count == 0 { return }
        values.withUnsafeBufferPointer { (pointer + e.offset).update(from: $0.baseAddress!, count: e.count) }
    }

    /// Sets every float to zero.
    public func zero() { pointer.update(repeating: 0, count: count) }

    /// Copies all values from a buffer of the same layout.
    public func copy(from other: ParameterBuffer) {
        precondition(other.count == count, "layouts differ")
        pointer.update(from: other.pointer, count: count)
    }

    /// All floats as an array.
    public var allValues: [Float] { Array(UnsafeBufferPointer(start: pointer, count: count)) }

    /// Global L2 norm over every tensor: Float partial sums over blocks of 4096
    /// (vectorized), blocks summed in Double; fixed order, so deterministic.
    public func l2Norm() -> Float {
        var total: Double = 0
        var i = 0
        while i < count {
            let n = Swift.min(4096, count - i)
            total += Double(Kernels.sumOfSquares(pointer + i, count: n))
            i += n
        }
        return Float(total.squareRoot())
    }
}
