import Foundation
import Tokenize

/// A safetensors file read in place (`MappedFile`): header, metadata, checksums and finiteness
/// checked exactly as `SafeTensors(contentsOf:)` does, but the tensors' bytes stay in the
/// mapping. `ParameterBuffer` can then use a file whose parameters lie in buffer order as its
/// storage, with no copy (`floats(_:layout:)`).
struct MappedSafeTensors {
    let metadata: [String: String]
    let entries: [String: SafeTensors.Entry]
    /// Number of NaN or infinite values in each F32 tensor.
    let nonFiniteCounts: [String: Int]
    private let file: MappedFile

    /// Maps and validates `path`; throws `SafeTensorsError` like `SafeTensors(contentsOf:)`.
    init(contentsOf path: String) throws {
        do { file = try MappedFile(path) } catch {
            throw SafeTensorsError.unreadable(path: path, reason: error.reason)
        }
        (entries, metadata) = try SafeTensors.parseHeader(file.bytes, path: path)
        nonFiniteCounts = try SafeTensors.verifyIntegrity(entries, metadata: metadata, in: file.bytes, path: path).nonFinite
    }

    /// The bytes of tensor `name`.
    func bytes(_ name: String) -> UnsafeRawBufferPointer? {
        entries[name].map { UnsafeRawBufferPointer(rebasing: file.bytes[$0.range]) }
    }

    /// A buffer with `layout` over the file's own bytes, when the file holds exactly these F32
    /// tensors back to back in this order (what `CheckpointFile.save` writes) at a float-aligned
    /// address; nil otherwise (older files: the caller copies).
    func parameterBuffer(_ layout: [(name: String, shape: [Int])], prefix: String = "") -> ParameterBuffer? {
        guard let firstName = layout.first?.name, let first = entries[prefix + firstName] else { return nil }
        var next = first.range.lowerBound
        for (name, _) in layout {
            guard let entry = entries[prefix + name], entry.dtype == .f32, entry.range.lowerBound == next else { return nil }
            next = entry.range.upperBound
        }
        guard let base = file.bytes.baseAddress, Int(bitPattern: base + first.range.lowerBound) % MemoryLayout<Float>.alignment == 0
        else { return nil }
        let floats = UnsafeMutableRawPointer(mutating: base + first.range.lowerBound).assumingMemoryBound(to: Float.self)
        return ParameterBuffer(shapes: layout, borrowing: floats, keepingAlive: file)
    }
}
