/// Deterministic pseudo-random generator (xoshiro256**, seeded through SplitMix64).
///
/// Its whole state is four `UInt64` words; `state` can be saved in a checkpoint
/// and restored so a resumed run draws the same dropout masks and shuffles.
public struct RandomGenerator: RandomNumberGenerator, Codable, Equatable, Sendable {
    private var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64

    /// The four state words (never all zero), for saving.
    public var state: [UInt64] { [s0, s1, s2, s3] }

    /// Seeds the generator; equal seeds give equal sequences on every platform.
    public init(seed: UInt64) {
        var z = seed
        var words = [UInt64]()
        for _ in 0..<4 {
            z &+= 0x9E37_79B9_7F4A_7C15
            var x = z
            x = (x ^ (x >> 30)) &* 0xBF58_476D_1CE4_E5B9
            x = (x ^ (x >> 27)) &* 0x94D0_49BB_1331_11EB
            words.append(x ^ (x >> 31))
        }
        (s0, s1, s2, s3) = (words[0], words[1], words[2], words[3])
    }

    /// Restores a saved state; returns nil unless it has four words, not all zero.
    public init?(state: [UInt64]) {
        guard state.count == 4, state.contains(where: { $0 != 0 }) else { return nil }
        (s0, s1, s2, s3) = (state[0], state[1], state[2], state[3])
    }

    public mutating func next() -> UInt64 {
        let result = rotl(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = rotl(s3, 45)
        return result
    }

    /// Uniform float in [0, 1) with 24 random bits.
    @inline(__always)
    public mutating func nextUnitFloat() -> Float {
        Float(next() >> 40) * (1.0 / 16_777_216.0)
    }

    @inline(__always)
    private func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    // Codable as hex strings: JSON numbers lose precision above 2^53.
    private enum CodingKeys: String, CodingKey { case state }

    public init(from decoder: any Swift.Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let words = try container.decode([String].self, forKey: .state)
        let values = words.compactMap { UInt64($0, radix: 16) }
        guard values.count == 4, values.contains(where: { $0 != 0 }) else {
            throw DecodingError.dataCorruptedError(
                forKey: .state, in: container,
                debugDescription: "random generator state must be four non-zero hex words")
        }
        (s0, s1, s2, s3) = (values[0], values[1], values[2], values[3])
    }

    public func encode(to encoder: any Swift.Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(state.map { String($0, radix: 16) }, forKey: .state)
    }
}
