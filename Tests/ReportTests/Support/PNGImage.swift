import Foundation

/// A minimal PNG reader for screenshots (8-bit RGB or RGBA, non-interlaced),
/// with its own inflate (after zlib's `puff.c`), so the tests need no image
/// library. Enough to measure whether a screenshot shows anything.
struct PNGImage {
    let width: Int
    let height: Int
    /// Bytes per pixel (3 RGB, 4 RGBA).
    let channels: Int
    /// Unfiltered pixels, row by row.
    let pixels: [UInt8]

    enum DecodeError: Error, CustomStringConvertible {
        case notPNG, unsupported(String), corrupt(String)
        var description: String {
            switch self {
            case .notPNG: return "not a PNG file"
            case .unsupported(let what): return "unsupported PNG: \(what)"
            case .corrupt(let what): return "corrupt PNG: \(what)"
            }
        }
    }

    init(data: Data) throws {
        let bytes = [UInt8](data)
        guard bytes.count > 8, bytes[0..<8] == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] else { throw DecodeError.notPNG }
        func u32(_ i: Int) -> Int { Int(bytes[i]) << 24 | Int(bytes[i + 1]) << 16 | Int(bytes[i + 2]) << 8 | Int(bytes[i + 3]) }
        var offset = 8
        var w = 0, h = 0, colorType = -1
        var idat: [UInt8] = []
        while offset + 8 <= bytes.count {
            let length = u32(offset)
            let type = String(decoding: bytes[(offset + 4)..<(offset + 8)], as: UTF8.self)
            let start = offset + 8
            guard start + length + 4 <= bytes.count else { throw DecodeError.corrupt("chunk \(type) runs past the end") }
            switch type {
            case "IHDR":
                w = u32(start); h = u32(start + 4)
                guard bytes[start + 8] == 8 else { throw DecodeError.unsupported("bit depth \(bytes[start + 8])") }
                colorType = Int(bytes[start + 9])
                guard bytes[start + 12] == 0 else { throw DecodeError.unsupported("interlaced") }
            case "IDAT": idat += bytes[start..<(start + length)]
            default: break
            }
            offset = start + length + 4
            if type == "IEND" { break }
        }
        guard colorType == 2 || colorType == 6 else { throw DecodeError.unsupported("colour type \(colorType)") }
        let channels = colorType == 6 ? 4 : 3
        guard idat.count > 2 else { throw DecodeError.corrupt("no image data") }
        var inflater = Inflater(input: Array(idat.dropFirst(2)))   // skip the zlib header
        let raw = try inflater.inflate()
        let stride = w * channels
        guard raw.count >= h * (stride + 1) else { throw DecodeError.corrupt("\(raw.count) bytes for \(w)×\(h)") }
        var out = [UInt8](repeating: 0, count: h * stride)
        for y in 0..<h {
            let filter = raw[y * (stride + 1)]
            let row = y * (stride + 1) + 1
            for x in 0..<stride {
                let a = x >= channels ? Int(out[y * stride + x - channels]) : 0
                let b = y > 0 ? Int(out[(y - 1) * stride + x]) : 0
                let c = (x >= channels && y > 0) ? Int(out[(y - 1) * stride + x - channels]) : 0
                let value = Int(raw[row + x])
                let predicted: Int
                switch filter {
                case 0: predicted = 0
                case 1: predicted = a
                case 2: predicted = b
                case 3: predicted = (a + b) / 2
                case 4:
                    let p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c)
                    predicted = (pa <= pb && pa <= pc) ? a : (pb <= pc ? b : c)
                default: throw DecodeError.corrupt("filter \(filter)")
                }
                out[y * stride + x] = UInt8((value + predicted) & 0xFF)
            }
        }
        width = w; height = h; self.channels = channels; pixels = out
    }

    /// Variance of the grey level (mean of R, G, B) over all pixels, in [0, 255²/4].
    var greyVariance: Double {
        var sum = 0.0, squares = 0.0
        let n = width * height
        for i in 0..<n {
            let p = i * channels
            let grey = (Double(pixels[p]) + Double(pixels[p + 1]) + Double(pixels[p + 2])) / 3
            sum += grey; squares += grey * grey
        }
        let mean = sum / Double(max(1, n))
        return squares / Double(max(1, n)) - mean * mean
    }

    /// Number of distinct colours (RGB), a second sign of a non-blank picture.
    var distinctColors: Int {
        var seen = Set<Int>()
        for i in 0..<(width * height) {
            let p = i * channels
            seen.insert(Int(pixels[p]) << 16 | Int(pixels[p + 1]) << 8 | Int(pixels[p + 2]))
        }
        return seen.count
    }
}

/// DEFLATE decoder (RFC 1951): stored, fixed and dynamic Huffman blocks.
struct Inflater {
    let input: [UInt8]
    var position = 0
    var bitBuffer = 0, bitCount = 0
    var output: [UInt8] = []

    init(input: [UInt8]) { self.input = input }

    mutating func bits(_ n: Int) throws -> Int {
        var value = bitBuffer
        while bitCount < n {
            guard position < input.count else { throw PNGImage.DecodeError.corrupt("deflate stream ends early") }
            value |= Int(input[position]) << bitCount
            position += 1
            bitCount += 8
        }
        bitBuffer = value >> n
        bitCount -= n
        return value & ((1 << n) - 1)
    }

    /// Canonical Huffman code: number of codes per length, symbols in code order.
    struct Huffman {
        var counts = [Int](repeating: 0, count: 16)
        var symbols: [Int]
        init(lengths: [Int]) {
            symbols = [Int](repeating: 0, count: lengths.count)
            for l in lengths { counts[l] += 1 }
            counts[0] = 0
            var offsets = [Int](repeating: 0, count: 16)
            for l in 1..<15 { offsets[l + 1] = offsets[l] + counts[l] }
            for (symbol, l) in lengths.enumerated() where l != 0 {
                symbols[offsets[l]] = symbol
                offsets[l] += 1
            }
        }
    }

    mutating func decode(_ h: Huffman) throws -> Int {
        var code = 0, first = 0, index = 0
        for length in 1...15 {
            code |= try bits(1)
            let count = h.counts[length]
            if code - count < first { return h.symbols[index + (code - first)] }
            index += count
            first += count
            first <<= 1
            code <<= 1
        }
        throw PNGImage.DecodeError.corrupt("bad Huffman code")
    }

    static let lengthBase = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258]
    static let lengthExtra = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0]
    static let distanceBase = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577]
    static let distanceExtra = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13]

    mutating func inflate() throws -> [UInt8] {
        var last = 0
        repeat {
            last = try bits(1)
            switch try bits(2) {
            case 0: try stored()
            case 1:
                let lengths = [Int](repeating: 8, count: 144) + [Int](repeating: 9, count: 112)
                    + [Int](repeating: 7, count: 24) + [Int](repeating: 8, count: 8)
                try codes(Huffman(lengths: lengths), Huffman(lengths: [Int](repeating: 5, count: 30)))
            case 2: try dynamic()
            default: throw PNGImage.DecodeError.corrupt("bad block type")
            }
        } while last == 0
        return output
    }

    mutating func stored() throws {
        bitBuffer = 0; bitCount = 0
        guard position + 4 <= input.count else { throw PNGImage.DecodeError.corrupt("stored block header") }
        let length = Int(input[position]) | Int(input[position + 1]) << 8
        position += 4
        guard position + length <= input.count else { throw PNGImage.DecodeError.corrupt("stored block length") }
        output += input[position..<(position + length)]
        position += length
    }

    mutating func dynamic() throws {
        let literalCount = try bits(5) + 257, distanceCount = try bits(5) + 1, codeCount = try bits(4) + 4
        let order = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]
        var codeLengths = [Int](repeating: 0, count: 19)
        for i in 0..<codeCount { codeLengths[order[i]] = try bits(3) }
        let lengthCode = Huffman(lengths: codeLengths)
        var lengths: [Int] = []
        while lengths.count < literalCount + distanceCount {
            let symbol = try decode(lengthCode)
            switch symbol {
            case 0..<16: lengths.append(symbol)
            case 16:
                guard let previous = lengths.last else { throw PNGImage.DecodeError.corrupt("repeat with no length") }
                lengths += [Int](repeating: previous, count: 3 + (try bits(2)))
            case 17: lengths += [Int](repeating: 0, count: 3 + (try bits(3)))
            default: lengths += [Int](repeating: 0, count: 11 + (try bits(7)))
            }
        }
        try codes(Huffman(lengths: Array(lengths[0..<literalCount])),
                  Huffman(lengths: Array(lengths[literalCount..<(literalCount + distanceCount)])))
    }

    mutating func codes(_ literals: Huffman, _ distances: Huffman) throws {
        while true {
            let symbol = try decode(literals)
            if symbol < 256 { output.append(UInt8(symbol)); continue }
            if symbol == 256 { return }
            let index = symbol - 257
            guard index < Self.lengthBase.count else { throw PNGImage.DecodeError.corrupt("bad length symbol") }
            let length = Self.lengthBase[index] + (try bits(Self.lengthExtra[index]))
            let d = try decode(distances)
            guard d < Self.distanceBase.count else { throw PNGImage.DecodeError.corrupt("bad distance symbol") }
            let distance = Self.distanceBase[d] + (try bits(Self.distanceExtra[d]))
            guard distance <= output.count else { throw PNGImage.DecodeError.corrupt("distance too far back") }
            let start = output.count - distance
            for k in 0..<length { output.append(output[start + k]) }
        }
    }
}
