/// Open-addressing hash table from a word (UTF-16 units + word-start flag) to
/// its subword ids, laid out for few cache misses: a slot holds the 32-bit
/// hash and the entry's offset, and an entry is one contiguous record in a
/// raw arena — `[length | flag bit, id count, key units (padded to 4 bytes), ids]` —
/// so a hit touches two memory regions. Lookups allocate nothing and need no
/// exclusivity checks. Cleared when it grows past `maximumWords` words.
/// Not thread-safe (owned by one `Tokenizer`).
final class WordCache {
    static let maximumWords = 1 << 24     // 64 MiB arena

    private let arena = GrowableArray<UInt32>(capacity: 1 << 16)
    private var slots: UnsafeMutablePointer<UInt64>   // hash << 32 | (offset + 1), 0 = empty
    private var slotCount: Int
    private var mask: Int
    private var entryCount = 0

    init() {
        slotCount = 1 << 14
        mask = slotCount - 1
        slots = .allocate(capacity: slotCount)
        slots.initialize(repeating: 0, count: slotCount)
    }

    deinit { slots.deallocate() }

    @inline(__always) static func hash(_ units: UnsafeBufferPointer<UInt16>, flag: Bool) -> UInt32 {
        var h: UInt64 = flag ? 0x9E37_79B9_7F4A_7C15 : 0xC2B2_AE3D_27D4_EB4F
        var p = units.baseAddress!
        let end = p + units.count
        while p < end {
            h = (h ^ UInt64(p.pointee)) &* 0x0000_0100_0000_01B3
            p += 1
        }
        h ^= h >> 29
        return UInt32(truncatingIfNeeded: h ^ (h >> 32))
    }

    @inline(__always) private static func header(_ count: Int, _ flag: Bool) -> UInt32 {
        UInt32(truncatingIfNeeded: count) | (flag ? 0x8000_0000 : 0)
    }

    /// Appends the cached ids of the word to `ids` and returns true, or returns false.
    @inline(__always)
    func appendCached(_ units: UnsafeBufferPointer<UInt16>, flag: Bool, hash: UInt32, to ids: inout [Int32]) -> Bool {
        let wanted = WordCache.header(units.count, flag)
        let tag = UInt64(hash) << 32
        var slot = Int(hash) & mask
        while true {
            let stored = slots[slot]
            if stored == 0 { return false }
            if stored & 0xFFFF_FFFF_0000_0000 == tag {
                let entry = arena.pointer + Int(stored & 0xFFFF_FFFF) - 1
                if entry[0] == wanted {
                    let key = UnsafeRawPointer(entry + 2).assumingMemoryBound(to: UInt16.self)
                    var same = true
                    for i in 0..<units.count where key[i] != units[i] { same = false; break }
                    if same {
                        let values = UnsafeRawPointer(entry + 2 + (units.count + 1) / 2).assumingMemoryBound(to: Int32.self)
                        ids.append(contentsOf: UnsafeBufferPointer(start: values, count: Int(entry[1])))
                        return true
                    }
                }
            }
            slot = (slot + 1) & mask
        }
    }

    /// Stores the ids of a word (call after a miss).
    func insert(_ units: UnsafeBufferPointer<UInt16>, flag: Bool, hash: UInt32, ids: ArraySlice<Int32>) {
        let keyWords = (units.count + 1) / 2
        if arena.count + 2 + keyWords + ids.count >= WordCache.maximumWords { clear() }
        if (entryCount + 1) * 2 > slotCount { grow() }
        let offset = arena.count
        arena.append(WordCache.header(units.count, flag))
        arena.append(UInt32(ids.count))
        for k in 0..<keyWords {
            let low = UInt32(units[2 * k])
            let high = 2 * k + 1 < units.count ? UInt32(units[2 * k + 1]) : 0
            arena.append(low | high << 16)   // little-endian: units in memory order
        }
        for id in ids { arena.append(UInt32(bitPattern: id)) }
        entryCount += 1
        place(UInt64(hash) << 32 | UInt64(offset + 1))
    }

    @inline(__always) private func place(_ value: UInt64) {
        var slot = Int(value >> 32) & mask
        while slots[slot] != 0 { slot = (slot + 1) & mask }
        slots[slot] = value
    }

    private func clear() {
        arena.count = 0
        entryCount = 0
        slots.update(repeating: 0, count: slotCount)
    }

    private func grow() {
        let old = slots, oldCount = slotCount
        slotCount *= 2
        mask = slotCount - 1
        slots = .allocate(capacity: slotCount)
        slots.initialize(repeating: 0, count: slotCount)
        for i in 0..<oldCount where old[i] != 0 { place(old[i]) }
        old.deallocate()
    }
}

/// A minimal growable array of trivial values in raw memory (no copy-on-write,
/// no exclusivity checks); for the tokenizer's private hot-path tables.
final class GrowableArray<Element> {
    private(set) var pointer: UnsafeMutablePointer<Element>
    private var capacity: Int
    var count = 0

    init(capacity: Int = 1024) {
        self.capacity = capacity
        pointer = .allocate(capacity: capacity)
    }

    deinit { pointer.deallocate() }

    private func reserve(_ needed: Int) {
        guard needed > capacity else { return }
        let newCapacity = max(needed, capacity * 2)
        let newPointer = UnsafeMutablePointer<Element>.allocate(capacity: newCapacity)
        newPointer.moveInitialize(from: pointer, count: count)
        pointer.deallocate()
        pointer = newPointer
        capacity = newCapacity
    }

    @inline(__always) func append(_ value: Element) {
        if count == capacity { reserve(count + 1) }
        (pointer + count).initialize(to: value)
        count += 1
    }

    func append(contentsOf values: UnsafeBufferPointer<Element>) {
        reserve(count + values.count)
        if let base = values.baseAddress { (pointer + count).initialize(from: base, count: values.count) }
        count += values.count
    }
}
