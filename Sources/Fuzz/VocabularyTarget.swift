import Tokenize

/// `VocabularyPair.load` on arbitrary files: the input is split at NUL bytes
/// into `.meta`, `.vocab` and `.merges` contents (both sides read the same
/// files). Properties: no trap; a vocabulary that loads round-trips text exactly
/// (`decode(encode(x)) == normalize(x)`) on a few hard strings.
enum VocabularyTarget: FuzzTarget {
    static let probes = ["Hello, world!", "안녕하세요 세계", "e\u{301}t\u{E9} 👩🏽‍💻 ①", "<pad> ▁ <0x41> \u{1B}[0m"]

    static func run(_ bytes: [UInt8]) {
        let parts = bytes.split(separator: 0, maxSplits: 2, omittingEmptySubsequences: false).map(Array.init)
        func part(_ i: Int) -> [UInt8] { i < parts.count ? parts[i] : [] }
        let loaded = try? VocabularyPair.load(from: "fuzz/v") { (path: String) throws(FileReadError) -> [UInt8] in
            if path.hasSuffix(".meta") { return part(0) }
            if path.hasSuffix(".vocab") { return part(1) }
            if path.hasSuffix(".merges") { return part(2) }
            throw .notFound(path: path)
        }
        guard let vocabulary = loaded else { return }
        for side in TextSide.allCases {
            guard let tokenizer = try? vocabulary.tokenizer(for: side) else { violation("no tokenizer for a loaded vocabulary") }
            for text in probes where tokenizer.decode(tokenizer.encode(text)) != tokenizer.normalize(text) {
                violation("round trip of \(text.debugDescription) failed")
            }
        }
    }

    static var seeds: [[UInt8]] {
        guard let vocabulary = try? VocabularyPair.learn(
            sources: ["the cat sat", "고양이가 앉았다", "the hat"], targets: ["a b", "c d", "e f"],
            options: VocabularyOptions(size: 300, minimumFrequency: 1)) else { return [] }
        var files: [String: [UInt8]] = [:]
        // Rebuild the text files the way `save` writes them, through a throwaway folder.
        let prefix = "/tmp/seq2seq-fuzz-seed/v"
        guard (try? vocabulary.save(to: prefix)) != nil else { return [] }
        for suffix in [".meta", ".source.vocab", ".source.merges"] {
            files[suffix] = (try? FileContents.read(prefix + suffix)) ?? []
        }
        let seed = (files[".meta"] ?? []) + [0] + (files[".source.vocab"] ?? []) + [0] + (files[".source.merges"] ?? [])
        return [seed]
    }
}
