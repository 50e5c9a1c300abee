/// Checksums and finiteness of tensor bytes, so that a corrupted checkpoint
/// (flipped bytes, a block overwritten with NaN, a truncated copy) is
/// rejected on load instead of translating garbage.
///
/// The checksum (`TensorIntegrity.algorithm`) is a 64-bit FNV-style hash over
/// little-endian 64-bit words in four interleaved lanes (lane k takes words
/// k, k+4, …; each step is `lane = (lane ^ word) · P`, a bijection of the lane,
/// so any single changed word changes the result), the trailing bytes folded
/// into lane 0, and the lanes combined with the byte count through the
/// MurmurHash3 finalizer. Four lanes keep the multiplies independent: it runs
/// at memory speed, so verifying costs a few milliseconds per 100 MB.
enum TensorIntegrity {
    /// Name stored in the metadata beside the checksums.
    static let algorithm = "fnv64x4"

    /// The checksum of `bytes` and, when `floats` is true, how many of them
    /// (read as little-endian F32 values) are NaN or ±infinity.
    static func scan(_ bytes: UnsafeRawBufferPointer, floats: Bool) -> (checksum: UInt64, nonFinite: Int) {
        let prime: UInt64 = 0x0000_0100_0000_01B3
        var lanes: (UInt64, UInt64, UInt64, UInt64) =
            (0xCBF2_9CE4_8422_2325, 0x84222325CBF29CE4, 0x9E37_79B9_7F4A_7C15, 0xC2B2_AE3D_27D4_EB4F)
        var nonFinite = 0
        let count = bytes.count
        let blocks = count / 32
        if let base = bytes.baseAddress {
            // The 32-byte blocks: lane j ← (lane j ^ word j) · prime, vectorized (CKernels).
            nonFinite = Kernels.integrityScan(base, blocks: blocks, lanes: &lanes, floats: floats)
            for i in (32 * blocks)..<count {
                lanes.0 = (lanes.0 ^ UInt64(base.load(fromByteOffset: i, as: UInt8.self))) &* prime
            }
            if floats {
                var i = 32 * blocks
                while i + 4 <= count {
                    let bits = UInt32(littleEndian: base.loadUnaligned(fromByteOffset: i, as: UInt32.self))
                    if bits & 0x7F80_0000 == 0x7F80_0000 { nonFinite += 1 }
                    i += 4
                }
            }
        }
        var h = mix(UInt64(count))
        for lane in [lanes.0, lanes.1, lanes.2, lanes.3] { h = mix(h ^ mix(lane)) &* prime }
        return (mix(h), nonFinite)
    }

    /// The checksum as stored: 16 lowercase hex digits.
    static func hex(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }

    /// MurmurHash3's 64-bit finalizer (full avalanche).
    private static func mix(_ value: UInt64) -> UInt64 {
        var x = value
        x = (x ^ (x >> 33)) &* 0xFF51_AFD7_ED55_8CCD
        x = (x ^ (x >> 33)) &* 0xC4CE_B9FE_1A85_EC53
        return x ^ (x >> 33)
    }
}
