import Foundation
import Tokenize

/// Errors from reading safetensors files.
public enum SafeTensorsError: Error, CustomStringConvertible, Equatable {
    case unreadable(path: String, reason: String)
    case badHeader(path: String, reason: String)
    case badTensor(path: String, name: String, reason: String)
    /// A stored checksum does not match the bytes (the file was altered after it was written).
    case checksumMismatch(path: String, name: String)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason): return "\(path): cannot read (\(reason)); check the path and permissions"
        case .badHeader(let path, let reason): return "\(path): not a valid safetensors file (\(reason)); the file is corrupt or of another format — re-create it"
        case .badTensor(let path, let name, let reason): return "\(path): tensor \(name) is invalid (\(reason)); the file is corrupt — re-create it"
        case .checksumMismatch(let path, let name): return "\(path): \(name) does not match its checksum; the file was damaged after it was written — use another copy or checkpoint"
        }
    }
}

/// A safetensors file: an 8-byte little-endian header length N, N bytes of
/// JSON (`name → {dtype, shape, data_offsets}` plus an optional string map
/// `__metadata__`), then the raw little-endian row-major tensor bytes.
/// Supports F32 and I64 tensors.
///
/// Integrity: `serialized()` stores a checksum of every tensor's bytes in the
/// metadata key `tensor_checksums` (a JSON object name → 16 hex digits, algorithm
/// named in `checksum_algorithm`) and one over the other metadata entries in
/// `metadata_checksum`; reading verifies them when present (files written
/// before checksums existed still load) and counts non-finite F32 values per
/// tensor (`nonFiniteCounts`). The file stays a standard safetensors file.
public struct SafeTensors: Sendable {
    static let tensorChecksumsKey = "tensor_checksums"
    static let metadataChecksumKey = "metadata_checksum"
    static let checksumAlgorithmKey = "checksum_algorithm"

    public enum DType: String, Sendable { case f32 = "F32", i64 = "I64"
        var size: Int { self == .f32 ? 4 : 8 }
    }

    public struct Tensor: Sendable, Equatable {
        public var dtype: DType
        public var shape: [Int]
        /// Raw little-endian bytes (a slice of the file's bytes when read from a file, so that
        /// loading does not copy every tensor once more).
        public var bytes: ArraySlice<UInt8>

        /// F32 values (empty for other dtypes).
        public var floats: [Float] {
            guard dtype == .f32 else { return [] }
            let n = bytes.count / 4
            return [Float](unsafeUninitializedCapacity: n) { out, initialized in
                bytes.withUnsafeBytes { raw in
                    for i in 0..<n {
                        out[i] = Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
                    }
                }
                initialized = n
            }
        }

        /// Copies F32 values into `destination[0..<count]`; returns false on a dtype or size mismatch.
        public func copyFloats(into destination: UnsafeMutablePointer<Float>, count: Int) -> Bool {
            guard dtype == .f32, bytes.count == 4 * count else { return false }
            bytes.withUnsafeBytes { raw in
                for i in 0..<count {
                    destination[i] = Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
                }
            }
            return true
        }

        /// I64 values (empty for other dtypes).
        public var integers: [Int64] {
            guard dtype == .i64 else { return [] }
            let n = bytes.count / 8
            return [Int64](unsafeUninitializedCapacity: n) { out, initialized in
                bytes.withUnsafeBytes { raw in
                    for i in 0..<n { out[i] = Int64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self)) }
                }
                initialized = n
            }
        }

        /// An I64 tensor of `integers` (row-major, `shape`).
        public init(integers: [Int64], shape: [Int]) {
            dtype = .i64
            self.shape = shape
            bytes = ArraySlice([UInt8](unsafeUninitializedCapacity: 8 * integers.count) { out, initialized in
                let raw = UnsafeMutableRawBufferPointer(out)
                for (i, v) in integers.enumerated() { raw.storeBytes(of: v.littleEndian, toByteOffset: 8 * i, as: Int64.self) }
                initialized = 8 * integers.count
            })
        }

        public init(floats: [Float], shape: [Int]) {
            self.init(floats: floats, count: floats.count, shape: shape)
        }

        public init(floats p: UnsafePointer<Float>, count: Int, shape: [Int]) {
            dtype = .f32
            self.shape = shape
            bytes = ArraySlice([UInt8](unsafeUninitializedCapacity: 4 * count) { out, initialized in
                let raw = UnsafeMutableRawBufferPointer(out)
                for i in 0..<count { raw.storeBytes(of: p[i].bitPattern.littleEndian, toByteOffset: 4 * i, as: UInt32.self) }
                initialized = 4 * count
            })
        }

        init(dtype: DType, shape: [Int], bytes: [UInt8]) {
            self.init(dtype: dtype, shape: shape, bytes: bytes[...])
        }

        init(dtype: DType, shape: [Int], bytes: ArraySlice<UInt8>) {
            self.dtype = dtype; self.shape = shape; self.bytes = bytes
        }
    }

    public var tensors: [String: Tensor]
    public var metadata: [String: String]
    /// Number of NaN or infinite values in each F32 tensor read from a file.
    public private(set) var nonFiniteCounts: [String: Int] = [:]
    /// True when the file carried checksums and they were verified.
    public private(set) var checksumsVerified = false

    public init(tensors: [String: Tensor] = [:], metadata: [String: String] = [:]) {
        self.tensors = tensors
        self.metadata = metadata
    }

    /// Reads and validates a file (header length, JSON, dtypes, shapes vs byte ranges, checksums).
    public init(contentsOf path: String) throws {
        let bytes: [UInt8]
        do { bytes = try FileContents.read(path) } catch {
            throw SafeTensorsError.unreadable(path: path, reason: error.reason)
        }
        try self.init(bytes: bytes, path: path)
    }

    public init(data: Data, path: String = "<data>") throws {
        try self.init(bytes: [UInt8](data), path: path)
    }

    /// Parses file bytes; every malformed input throws `SafeTensorsError` (none traps).
    public init(bytes: [UInt8], path: String = "<data>") throws {
        let (entries, metadata, counts) = try bytes.withUnsafeBytes { raw in
            let (entries, metadata) = try SafeTensors.parseHeader(raw, path: path)
            return (entries, metadata, try SafeTensors.verifyIntegrity(entries, metadata: metadata, in: raw, path: path))
        }
        tensors = entries.mapValues { Tensor(dtype: $0.dtype, shape: $0.shape, bytes: bytes[$0.range]) }
        self.metadata = metadata
        nonFiniteCounts = counts.nonFinite
        checksumsVerified = counts.verified
    }

    /// Where one tensor lies in a file.
    struct Entry: Sendable {
        var dtype: DType
        var shape: [Int]
        /// Its bytes' range in the file (header included in the offsets).
        var range: Range<Int>
    }

    /// The tensors and metadata a file's header describes; every range lies inside `raw`.
    static func parseHeader(_ raw: UnsafeRawBufferPointer, path: String) throws -> (entries: [String: Entry], metadata: [String: String]) {
        guard raw.count >= 8, let base = raw.baseAddress else { throw SafeTensorsError.badHeader(path: path, reason: "shorter than 8 bytes") }
        let n = UInt64(littleEndian: raw.loadUnaligned(as: UInt64.self))
        guard n <= UInt64(raw.count - 8) else {
            throw SafeTensorsError.badHeader(path: path, reason: "header length \(n) exceeds the file size \(raw.count)")
        }
        let headerEnd = 8 + Int(n)
        guard let json = try? JSONSerialization.jsonObject(with: Data(bytes: base + 8, count: Int(n))),
              let header = json as? [String: Any] else {
            throw SafeTensorsError.badHeader(path: path, reason: "header is not a JSON object")
        }
        var entries = [String: Entry]()
        var metadata = [String: String]()
        let bufferSize = raw.count - headerEnd
        for (name, value) in header {
            if name == "__metadata__" {
                guard let map = value as? [String: String] else {
                    throw SafeTensorsError.badHeader(path: path, reason: "__metadata__ is not a string map")
                }
                metadata = map
                continue
            }
            guard let entry = value as? [String: Any],
                  let dtypeName = entry["dtype"] as? String,
                  let shape = entry["shape"] as? [Int],
                  let offsets = entry["data_offsets"] as? [Int], offsets.count == 2 else {
                throw SafeTensorsError.badTensor(path: path, name: name, reason: "missing dtype, shape or data_offsets")
            }
            guard let dtype = DType(rawValue: dtypeName) else {
                throw SafeTensorsError.badTensor(path: path, name: name, reason: "unsupported dtype \(dtypeName) (expected F32 or I64)")
            }
            let (begin, end) = (offsets[0], offsets[1])
            guard shape.allSatisfy({ $0 >= 0 }), begin >= 0, begin <= end, end <= bufferSize,
                  let byteCount = SafeTensors.byteCount(shape: shape, elementSize: dtype.size), end - begin == byteCount else {
                throw SafeTensorsError.badTensor(
                    path: path, name: name,
                    reason: "shape \(shape) × \(dtype.size) bytes does not fit data_offsets [\(begin), \(end)] in a \(bufferSize)-byte buffer")
            }
            entries[name] = Entry(dtype: dtype, shape: shape, range: (headerEnd + begin)..<(headerEnd + end))
        }
        return (entries, metadata)
    }

    /// Elements × element size, or nil when it overflows.
    static func byteCount(shape: [Int], elementSize: Int) -> Int? {
        var total = elementSize
        for dimension in shape {
            let (product, overflow) = total.multipliedReportingOverflow(by: dimension)
            if overflow { return nil }
            total = product
        }
        return total
    }

    /// Checks the stored checksums (when present) and counts non-finite F32 values per tensor.
    static func verifyIntegrity(_ entries: [String: Entry], metadata: [String: String], in raw: UnsafeRawBufferPointer,
                                path: String) throws -> (nonFinite: [String: Int], verified: Bool) {
        var expected: [String: String]?
        if let text = metadata[SafeTensors.tensorChecksumsKey] {
            guard let map = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: String] else {
                throw SafeTensorsError.checksumMismatch(path: path, name: "the checksum list")
            }
            expected = map
        }
        if let stored = metadata[SafeTensors.metadataChecksumKey],
           stored != SafeTensors.metadataChecksum(metadata) {
            throw SafeTensorsError.checksumMismatch(path: path, name: "the metadata")
        }
        var nonFiniteCounts: [String: Int] = [:]
        for (name, entry) in entries {
            let bytes = UnsafeRawBufferPointer(rebasing: raw[entry.range])
            let (checksum, nonFinite) = TensorIntegrity.scan(bytes, floats: entry.dtype == .f32)
            if entry.dtype == .f32 { nonFiniteCounts[name] = nonFinite }
            if let expected, expected[name] != TensorIntegrity.hex(checksum) {
                throw SafeTensorsError.checksumMismatch(path: path, name: "tensor \(name)")
            }
        }
        if let expected, let extra = expected.keys.first(where: { entries[$0] == nil }) {
            throw SafeTensorsError.checksumMismatch(path: path, name: "tensor \(extra) (listed but absent)")
        }
        return (nonFiniteCounts, expected != nil)
    }

    /// Checksum over the metadata entries except itself, in key order.
    static func metadataChecksum(_ metadata: [String: String]) -> String {
        var bytes: [UInt8] = []
        for (key, value) in metadata.sorted(by: { $0.key < $1.key }) where key != metadataChecksumKey {
            bytes += Array(key.utf8) + [0] + Array(value.utf8) + [0]
        }
        return bytes.withUnsafeBytes { TensorIntegrity.hex(TensorIntegrity.scan($0, floats: false).checksum) }
    }

    /// The file's bytes: header sorted by name, padded with spaces to a multiple of 8, with
    /// the checksums described on the type added to the metadata. The tensors' bytes follow in
    /// `order` (names not in it after those, by name): a checkpoint stores its parameters in
    /// buffer order, so that loading can use the mapped file as the buffer (`MappedSafeTensors`).
    public func serialized(order: [String] = []) throws -> Data {
        var header = [String: Any]()
        var offset = 0
        var listed = Set<String>()
        let first = order.filter { tensors[$0] != nil && listed.insert($0).inserted }
        let sorted = first.compactMap { name in tensors[name].map { (key: name, value: $0) } }
            + tensors.filter { !listed.contains($0.key) }.sorted { $0.key < $1.key }
        var checksums: [String: String] = [:]
        for (name, t) in sorted {
            header[name] = ["dtype": t.dtype.rawValue, "shape": t.shape, "data_offsets": [offset, offset + t.bytes.count]] as [String: Any]
            offset += t.bytes.count
            checksums[name] = TensorIntegrity.hex(t.bytes.withUnsafeBytes { TensorIntegrity.scan($0, floats: false).checksum })
        }
        var metadata = self.metadata
        let checksumJSON = try JSONSerialization.data(withJSONObject: checksums, options: [.sortedKeys])
        metadata[SafeTensors.tensorChecksumsKey] = String(decoding: checksumJSON, as: UTF8.self)
        metadata[SafeTensors.checksumAlgorithmKey] = TensorIntegrity.algorithm
        metadata[SafeTensors.metadataChecksumKey] = SafeTensors.metadataChecksum(metadata)
        header["__metadata__"] = metadata
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while json.count % 8 != 0 { json.append(0x20) }
        var out = Data(capacity: 8 + json.count + offset)
        var n = UInt64(json.count).littleEndian
        withUnsafeBytes(of: &n) { out.append(contentsOf: $0) }
        out.append(json)
        for (_, t) in sorted { out.append(contentsOf: t.bytes) }
        return out
    }
}
