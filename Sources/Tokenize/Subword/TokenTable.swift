/// Token texts → ids, keyed by their exact UTF-8 bytes: what loading a vocabulary needs to
/// find duplicates, resolve merge lines and check merge results, without hashing Swift
/// `String`s (which normalizes every key, the largest part of a vocabulary's load time).
///
/// Byte equality is stricter than `String` equality (canonically equivalent spellings are
/// different keys), which is what the encoder needs: it works on scalars, never on
/// canonical equivalence.
struct TokenTable {
    /// Every inserted text back to back.
    private var bytes: [UInt8] = []
    /// Per entry, where its text starts in `bytes`, with one more for the end.   `[N + 1]`
    private var starts: [Int] = [0]
    /// Per entry, its id.   `[N]`
    private var ids: [Int32] = []
    /// Open addressing over entries (−1 = empty); size a power of two, at most half full.
    private var slots: [Int32]

    init(capacity: Int) {
        var size = 16
        while size < capacity * 2 { size *= 2 }
        slots = [Int32](repeating: -1, count: size)
        bytes.reserveCapacity(capacity * 8)
        starts.reserveCapacity(capacity + 1)
        ids.reserveCapacity(capacity)
    }

    /// Adds `text` with `id` unless the same bytes are already there; returns the id the
    /// bytes already had (the first insertion wins), or nil when it was new.
    @discardableResult
    mutating func insert(_ text: UnsafeBufferPointer<UInt8>, id: Int32) -> Int32? {
        if let existing = self.id(of: text) { return existing }
        if (ids.count + 1) * 2 > slots.count { grow() }
        bytes.append(contentsOf: text)
        starts.append(bytes.count)
        ids.append(id)
        place(entry: ids.count - 1, hash: TokenTable.hash(text, UnsafeBufferPointer(start: nil, count: 0)))
        return nil
    }

    /// Adds a `String`'s bytes (see `insert(_:id:)`).
    @discardableResult
    mutating func insert(_ text: String, id: Int32) -> Int32? {
        var text = text
        return text.withUTF8 { insert($0, id: id) }
    }

    /// The id of exactly these bytes.
    func id(of text: UnsafeBufferPointer<UInt8>) -> Int32? {
        id(ofConcatenation: text, UnsafeBufferPointer(start: nil, count: 0))
    }

    /// The id of the bytes of `first` followed by those of `second`.
    func id(ofConcatenation first: UnsafeBufferPointer<UInt8>, _ second: UnsafeBufferPointer<UInt8>) -> Int32? {
        find(TokenTable.hash(first, second), count: first.count + second.count) { equals($0, first, second) }
    }

    /// The id of `tokens[first] + tokens[second]`, by bytes.
    func id(ofConcatenation first: String, _ second: String) -> Int32? {
        var (a, b) = (first, second)
        return a.withUTF8 { pa in b.withUTF8 { pb in id(ofConcatenation: pa, pb) } }
    }

    /// FNV-1a over `first` then `second`.
    private static func hash(_ first: UnsafeBufferPointer<UInt8>, _ second: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var hash = FNV1a64()
        for b in first { hash.add(b) }
        for b in second { hash.add(b) }
        return hash.value
    }

    private func equals(_ entry: Int, _ first: UnsafeBufferPointer<UInt8>, _ second: UnsafeBufferPointer<UInt8>) -> Bool {
        let start = starts[entry]
        guard starts[entry + 1] - start == first.count + second.count else { return false }
        for (k, b) in first.enumerated() where bytes[start + k] != b { return false }
        for (k, b) in second.enumerated() where bytes[start + first.count + k] != b { return false }
        return true
    }

    private func find(_ hash: UInt64, count: Int, matching: (Int) -> Bool) -> Int32? {
        let mask = slots.count - 1
        var slot = TokenTable.slot(hash, mask: mask)
        while slots[slot] >= 0 {
            let entry = Int(slots[slot])
            if starts[entry + 1] - starts[entry] == count && matching(entry) { return ids[entry] }
            slot = (slot + 1) & mask
        }
        return nil
    }

    private mutating func place(entry: Int, hash: UInt64) {
        let mask = slots.count - 1
        var slot = TokenTable.slot(hash, mask: mask)
        while slots[slot] >= 0 { slot = (slot + 1) & mask }
        slots[slot] = Int32(entry)
    }

    private mutating func grow() {
        slots = [Int32](repeating: -1, count: slots.count * 2)
        let all = bytes
        all.withUnsafeBufferPointer { all in
            for entry in 0..<ids.count {
                let text = UnsafeBufferPointer(rebasing: all[starts[entry]..<starts[entry + 1]])
                place(entry: entry, hash: TokenTable.hash(text, UnsafeBufferPointer(start: nil, count: 0)))
            }
        }
    }

    private static func slot(_ hash: UInt64, mask: Int) -> Int {
        Int(truncatingIfNeeded: (hash ^ (hash >> 29)) &* 0x9E37_79B9_7F4A_7C15 >> 40) & mask
    }
}
