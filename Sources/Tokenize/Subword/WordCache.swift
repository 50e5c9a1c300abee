/// Open-addressing hash table from a word (UTF-16 units + word-start flag) to
/// its subword ids. Keys and values live in two flat arenas, so a lookup
/// allocates nothing. Cleared when it grows past `maximumEntries`.
final class WordCache {
    static let maximumEntries = 1 << 19

    private var keyArena: [UInt16] = []
    private var valueArena: [Int32] = []
    // Per entry: key start, key length (with flag in the top bit), value start, value length.
    private var entries: [Int32] = []
    private var hashes: [UInt32] = []
    private var slots: [Int32] = []      // entry index or -1
    private var mask = 0

    init() { reset(slotCount: 1 << 14) }

    private func reset(slotCount: Int) {
        keyArena.removeAll(keepingCapacity: true)
        valueArena.removeAll(keepingCapacity: true)
        entries.removeAll(keepingCapacity: true)
        hashes.removeAll(keepingCapacity: true)
        slots = [Int32](repeating: -1, count: slotCount)
        mask = slotCount - 1
    }

    @inline(__always) static func hash(_ units: UnsafeBufferPointer<UInt16>, flag: Bool) -> UInt32 {
        var h: UInt64 = flag ? 0x9E37_79B9_7F4A_7C15 : 0xC2B2_AE3D_27D4_EB4F
        for u in units { h = (h ^ UInt64(u)) &* 0x0000_0100_0000_01B3 }
        h ^= h >> 29
        return UInt32(truncatingIfNeeded: h ^ (h >> 32))
    }

    /// Appends the cached ids of the word to `ids` and returns true, or returns false.
    @inline(__always)
    func appendCached(_ units: UnsafeBufferPointer<UInt16>, flag: Bool, hash: UInt32, to ids: inout [Int32]) -> Bool {
        let lengthWithFlag = Int32(units.count) | (flag ? Int32(bitPattern: 0x8000_0000) : 0)
        var slot = Int(hash) & mask
        return slots.withUnsafeBufferPointer { slots in
            entries.withUnsafeBufferPointer { entries in
                while true {
                    let e = Int(slots[slot])
                    if e < 0 { return false }
                    if hashes[e] == hash && entries[4 * e + 1] == lengthWithFlag {
                        let keyStart = Int(entries[4 * e])
                        let same = keyArena.withUnsafeBufferPointer { arena in
                            memcmp16(arena.baseAddress! + keyStart, units.baseAddress!, units.count)
                        }
                        if same {
                            let valueStart = Int(entries[4 * e + 2]), valueCount = Int(entries[4 * e + 3])
                            valueArena.withUnsafeBufferPointer { values in
                                ids.append(contentsOf: UnsafeBufferPointer(rebasing: values[valueStart..<(valueStart + valueCount)]))
                            }
                            return true
                        }
                    }
                    slot = (slot + 1) & mask
                }
            }
        }
    }

    /// Stores the ids of a word (call after a miss).
    func insert(_ units: UnsafeBufferPointer<UInt16>, flag: Bool, hash: UInt32, ids: ArraySlice<Int32>) {
        if hashes.count >= WordCache.maximumEntries { reset(slotCount: slots.count) }
        if (hashes.count + 1) * 2 > slots.count { grow() }
        let e = Int32(hashes.count)
        entries.append(Int32(keyArena.count))
        entries.append(Int32(units.count) | (flag ? Int32(bitPattern: 0x8000_0000) : 0))
        entries.append(Int32(valueArena.count))
        entries.append(Int32(ids.count))
        hashes.append(hash)
        keyArena.append(contentsOf: units)
        valueArena.append(contentsOf: ids)
        var slot = Int(hash) & mask
        while slots[slot] >= 0 { slot = (slot + 1) & mask }
        slots[slot] = e
    }

    private func grow() {
        let count = slots.count * 2
        slots = [Int32](repeating: -1, count: count)
        mask = count - 1
        for (e, h) in hashes.enumerated() {
            var slot = Int(h) & mask
            while slots[slot] >= 0 { slot = (slot + 1) & mask }
            slots[slot] = Int32(e)
        }
    }
}

@inline(__always)
private func memcmp16(_ a: UnsafePointer<UInt16>, _ b: UnsafePointer<UInt16>, _ n: Int) -> Bool {
    for i in 0..<n where a[i] != b[i] { return false }
    return true
}
