#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Seq2Seq

/// `SafeTensors(bytes:)` and `Checkpoint.load` on arbitrary bytes. Properties:
/// no trap and no allocation beyond the input's size; a file that parses
/// serializes and parses again to the same tensors and metadata.
enum SafeTensorsTarget: FuzzTarget {
    static let folder: String = {
        let path = "/tmp/seq2seq-fuzz-\(getpid())"
        mkdir(path, 0o755)
        return path
    }()

    static func run(_ bytes: [UInt8]) {
        guard let file = try? SafeTensors(bytes: bytes) else { return }
        guard let again = try? SafeTensors(data: try file.serialized()) else { violation("a parsed file does not re-parse") }
        guard again.tensors == file.tensors else { violation("tensors changed in a round trip") }
        for (key, value) in file.metadata where again.metadata[key] != value && !key.contains("checksum") {
            violation("metadata \(key) changed in a round trip")
        }
        // The checkpoint loader on the same bytes: errors are fine, traps are not.
        let path = folder + "/" + Checkpoint.modelFileName
        guard FileManager.default.createFile(atPath: path, contents: Data(bytes)) else { return }
        _ = try? Checkpoint.load(from: folder, loadOptimizer: true)
    }

    static var seeds: [[UInt8]] {
        let configuration = ModelConfiguration(sourceVocabularySize: 5, targetVocabularySize: 4, embeddingSize: 2,
                                               hiddenSize: 2, layerCount: 1, dropout: 0)
        guard let model = try? Seq2SeqModel(configuration: configuration, seed: 1) else { return [] }
        let trainer = Trainer(model: model)
        _ = try? trainer.saveCheckpoint(to: folder, sourceVocabulary: "s", targetVocabulary: "t", epoch: 0, dataPosition: 0)
        var seeds: [[UInt8]] = []
        for name in [Checkpoint.modelFileName, Checkpoint.optimizerFileName] {
            if let data = FileManager.default.contents(atPath: folder + "/" + name) { seeds.append(Array(data)) }
        }
        let plain = SafeTensors(tensors: ["a": .init(floats: [1, 2, 3, 4], shape: [2, 2])], metadata: ["k": "v"])
        if let data = try? plain.serialized() { seeds.append(Array(data)) }
        // The same files without checksums (as written before they existed), so that mutations
        // reach the checkpoint loader's checks instead of stopping at a checksum.
        return seeds + seeds.compactMap(withoutChecksums)
    }

    /// A copy of a safetensors file with the checksum entries removed from its metadata.
    static func withoutChecksums(_ bytes: [UInt8]) -> [UInt8]? {
        guard bytes.count >= 8 else { return nil }
        let length = bytes[0..<8].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        guard 8 + length <= bytes.count,
              var header = (try? JSONSerialization.jsonObject(with: Data(bytes[8..<(8 + length)]))) as? [String: Any] else { return nil }
        if var metadata = header["__metadata__"] as? [String: String] {
            for key in metadata.keys where key.contains("checksum") { metadata[key] = nil }
            header["__metadata__"] = metadata
        }
        guard var json = try? JSONSerialization.data(withJSONObject: header, options: [.sortedKeys]) else { return nil }
        while json.count % 8 != 0 { json.append(0x20) }
        let size = UInt64(json.count)
        return (0..<8).map { UInt8(truncatingIfNeeded: size >> (8 * UInt64($0))) } + Array(json) + Array(bytes[(8 + length)...])
    }
}
