import Foundation
import Tokenize

/// The file mechanics both checkpoint formats share (`Checkpoint` for translation models,
/// `LanguageModelCheckpoint` for language models): a folder with `model.safetensors` (weights and
/// a string metadata map naming the format and version) and optionally `optimizer.safetensors`
/// (Adam moments `m.<name>`, `v.<name>` and `adam_step`), each written atomically, the optimizer
/// first; on reading, the format, version, names, shapes, dtypes, checksums and finiteness of
/// every tensor are checked before anything is used.
enum CheckpointFile {
    /// Writes `optimizer.safetensors` (when given) and then `model.safetensors` into `directory`,
    /// creating it. Refuses (`nonFiniteValues`, nothing written) when a weight or moment is NaN
    /// or infinite. `metadata` gets `format` and `format_version` added.
    static func save(to directory: String, format: String, version: String, parameters: ParameterBuffer,
                     metadata: [String: String], optimizer: AdamOptimizer?) throws {
        try requireFinite(parameters, path: directory + "/" + Checkpoint.modelFileName)
        if let optimizer {
            try requireFinite(optimizer.m, path: directory + "/" + Checkpoint.optimizerFileName)
            try requireFinite(optimizer.v, path: directory + "/" + Checkpoint.optimizerFileName)
        }
        do {
            try Folder.create(directory)
        } catch {
            throw CheckpointError.writeFailed(path: directory, reason: "\(error)")
        }
        if let optimizer {
            var file = SafeTensors(metadata: ["format": format, "format_version": version,
                                              "adam_step": String(optimizer.stepCount)])
            for e in optimizer.m.entries {
                file.tensors["m." + e.name] = .init(floats: optimizer.m.pointer + e.offset, count: e.count, shape: e.shape)
                file.tensors["v." + e.name] = .init(floats: optimizer.v.pointer + e.offset, count: e.count, shape: e.shape)
            }
            try write(file, to: directory + "/" + Checkpoint.optimizerFileName,
                      order: optimizer.m.entries.flatMap { ["m." + $0.name, "v." + $0.name] })
        }
        var file = SafeTensors(metadata: metadata.merging(["format": format, "format_version": version]) { $1 })
        for e in parameters.entries {
            file.tensors[e.name] = .init(floats: parameters.pointer + e.offset, count: e.count, shape: e.shape)
        }
        try write(file, to: directory + "/" + Checkpoint.modelFileName, order: parameters.entries.map(\.name))
    }

    /// `value` as sorted-key JSON text, for a metadata entry.
    static func json<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    /// Writes a safetensors file atomically, the tensors' bytes in `order` (buffer order, so that
    /// loading can use the mapped file itself: `MappedSafeTensors.parameterBuffer`).
    static func write(_ file: SafeTensors, to path: String, order: [String] = []) throws {
        do {
            try AtomicFile.write(try file.serialized(order: order), to: path)
        } catch let error as AtomicFileError {
            throw CheckpointError.writeFailed(path: path, reason: error.description)
        }
    }

    /// Throws `nonFiniteValues` naming the first tensor of `buffer` holding NaN or ±∞.
    static func requireFinite(_ buffer: ParameterBuffer, path: String) throws {
        for e in buffer.entries {
            let raw = UnsafeRawBufferPointer(start: buffer.pointer + e.offset, count: 4 * e.count)
            let bad = TensorIntegrity.scan(raw, floats: true).nonFinite
            if bad > 0 { throw CheckpointError.nonFiniteValues(path: path, name: e.name, count: bad) }
        }
    }

    /// Maps a safetensors file and checks its `format` and `format_version`; `refuse` may turn
    /// another known format into a clearer error (e.g. "this is a translation checkpoint").
    static func read(_ path: String, format: String, version: String,
                     refuse: (_ format: String?) -> Error? = { _ in nil }) throws -> MappedSafeTensors {
        guard FileManager.default.fileExists(atPath: path) else { throw CheckpointError.missingFile(path: path) }
        let file: MappedSafeTensors
        do { file = try MappedSafeTensors(contentsOf: path) } catch let error as SafeTensorsError {
            switch error {
            case .unreadable(_, let reason): throw CheckpointError.unreadable(path: path, reason: reason)
            case .badHeader(_, let reason): throw CheckpointError.badMagic(path: path, reason: reason)
            case .badTensor(_, let name, let reason): throw CheckpointError.badMetadata(path: path, key: name, reason: reason)
            case .checksumMismatch(_, let name):
                throw CheckpointError.corrupt(path: path, reason: "\(name) does not match its checksum")
            }
        }
        let found = file.metadata["format"]
        if found != format, let error = refuse(found) { throw error }
        guard found == format else {
            throw CheckpointError.badMagic(path: path, reason: "metadata format is \(found.map { "\"\($0)\"" } ?? "missing"), expected \"\(format)\"")
        }
        let foundVersion = file.metadata["format_version"] ?? "missing"
        guard foundVersion == version else {
            throw CheckpointError.badVersion(path: path, found: foundVersion, expected: version)
        }
        return file
    }

    /// The JSON metadata entry `key` of `file`, decoded.
    static func decode<T: Decodable>(_ type: T.Type, _ key: String, of file: MappedSafeTensors, path: String) throws -> T {
        guard let text = file.metadata[key] else { throw CheckpointError.badMetadata(path: path, key: key, reason: "missing") }
        do { return try JSONDecoder().decode(T.self, from: Data(text.utf8)) } catch {
            throw CheckpointError.badMetadata(path: path, key: key, reason: "\(error)")
        }
    }

    /// The optional `training_state` entry, decoded and checked for impossible values.
    static func trainingState(of file: MappedSafeTensors, path: String) throws -> TrainingState? {
        guard file.metadata["training_state"] != nil else { return nil }
        let state = try decode(TrainingState.self, "training_state", of: file, path: path)
        if let problem = state.problem { throw CheckpointError.badMetadata(path: path, key: "training_state", reason: problem) }
        return state
    }

    /// The weights of `layout` from `file`: every tensor checked (name, dtype, shape, finite)
    /// before the buffer is made; no other tensors allowed. `inPlace` (weights for decoding): a
    /// file written in buffer order is the buffer itself, no copy; otherwise, and for training
    /// (whose buffers prefer huge pages), the values are copied.
    static func parameters(_ layout: [(name: String, shape: [Int])], from file: MappedSafeTensors, path: String,
                           inPlace: Bool) throws -> ParameterBuffer {
        try checkLayout(layout, of: file, prefix: "", path: path)
        if inPlace, file.entries.count == layout.count, let mapped = file.parameterBuffer(layout) { return mapped }
        let parameters = ParameterBuffer(shapes: layout)
        try fill(parameters, from: file, prefix: "", path: path)
        return parameters
    }

    /// Adam over `parameters` from `directory`'s optimizer file, or nil when there is none.
    /// Its `adam_step` must equal the model's saved step; every moment must be there and finite.
    static func optimizer(in directory: String, format: String, version: String, parameters: ParameterBuffer,
                          trainingState: TrainingState?) throws -> AdamOptimizer? {
        let path = directory + "/" + Checkpoint.optimizerFileName
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let file = try read(path, format: format, version: version)
        guard let stepText = file.metadata["adam_step"], let step = Int(stepText), step >= 0 else {
            throw CheckpointError.badMetadata(path: path, key: "adam_step", reason: "missing or not a count")
        }
        if let trainingState, trainingState.step != step {
            throw CheckpointError.optimizerMismatch(
                path: path, reason: "optimizer step \(step) but the model was saved at step \(trainingState.step)")
        }
        let layout = parameters.entries.map { ($0.name, $0.shape) }
        try checkLayout(layout, of: file, prefix: "m.", path: path)
        try checkLayout(layout, of: file, prefix: "v.", path: path)
        if file.entries.count != 2 * parameters.entries.count {
            throw CheckpointError.optimizerMismatch(path: path, reason: "\(file.entries.count) tensors for \(parameters.entries.count) parameters")
        }
        let options = trainingState?.options ?? TrainingOptions()
        let adam = AdamOptimizer(layoutOf: parameters, beta1: options.beta1, beta2: options.beta2, epsilon: options.epsilon)
        adam.stepCount = step
        try fill(adam.m, from: file, prefix: "m.", path: path, allowOthers: true)
        try fill(adam.v, from: file, prefix: "v.", path: path, allowOthers: true)
        return adam
    }

    /// Checks that `file` holds tensors `prefix + name` of these shapes, as F32 and finite.
    private static func checkLayout(_ layout: [(name: String, shape: [Int])], of file: MappedSafeTensors, prefix: String,
                                    path: String) throws {
        for (baseName, shape) in layout {
            let name = prefix + baseName
            guard let t = file.entries[name] else { throw CheckpointError.missingTensor(path: path, name: name) }
            guard t.dtype == .f32 else { throw CheckpointError.wrongDType(path: path, name: name, found: t.dtype.rawValue) }
            guard t.shape == shape else {
                throw CheckpointError.wrongShape(path: path, name: name, found: t.shape, expected: shape)
            }
            if let bad = file.nonFiniteCounts[name], bad > 0 {
                throw CheckpointError.nonFiniteValues(path: path, name: name, count: bad)
            }
        }
    }

    /// Copies tensors `prefix + name` (already checked by `checkLayout`) into `buffer`; unless
    /// `allowOthers`, other tensors in the file are an error.
    private static func fill(_ buffer: ParameterBuffer, from file: MappedSafeTensors, prefix: String, path: String,
                             allowOthers: Bool = false) throws {
        for e in buffer.entries {
            guard let raw = file.bytes(prefix + e.name), file.entries[prefix + e.name]?.dtype == .f32, raw.count == 4 * e.count else {
                throw CheckpointError.wrongShape(path: path, name: prefix + e.name, found: [], expected: e.shape)
            }
            let destination = buffer.pointer + e.offset
            for i in 0..<e.count {
                destination[i] = Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
            }
        }
        if !allowOthers {
            let known = Set(buffer.entries.map { prefix + $0.name })
            if let extra = file.entries.keys.sorted().first(where: { !known.contains($0) }) {
                throw CheckpointError.unexpectedTensor(path: path, name: extra)
            }
        }
    }
}
