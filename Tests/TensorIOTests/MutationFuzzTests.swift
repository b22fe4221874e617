import Formats
import Testing
import TensorIO
import TestSupport

/// Seeded mutation fuzzing of the parsers, from memory. Each mutant must either parse into views that lie
/// inside the buffer with sizes matching their shapes, or throw a one-line TensorIOError. (`parse` has typed
/// throws, so "throws something else" is already impossible at compile time; crashes and hangs are what
/// this test hunts.) Deterministic: the lab's SeededGenerator with fixed seeds.
@Suite("Mutation fuzzing")
struct MutationFuzzTests {
    struct Outcome { var parsed = 0; var rejected = 0; var failures: [String] = [] }

    /// Bytes that matter to the two header grammars.
    static let interesting = Array("0123456789-+.eE\"'{}[](),: \\\nuTtFf_".utf8) + [0x00, 0x7F, 0x80, 0xFF]

    /// Valid seed images: the Python fixtures plus writer output with every dtype.
    static func seeds(_ format: TensorFileFormat) throws -> [[UInt8]] {
        var rng = SeededGenerator(seed: 7)
        if format == .npy {
            var images = try Fixtures.npyFiles.map(Fixtures.bytes)
            images.append(try TensorWriter.encode(format: .npy, tensors: [(TensorSpec(name: "x", dtype: .f16, shape: [2, 1, 3], fortranOrder: true), rng.bytes(12))]))
            return images
        }
        var images = try Fixtures.safetensorsFiles.map(Fixtures.bytes)
        let tensors = TensorDType.allCases.enumerated().map { i, dtype in
            (TensorSpec(name: "t\(i)", dtype: dtype, shape: i % 4 == 0 ? [] : [i % 3, 2]), rng.bytes(dtype.byteSize * (i % 4 == 0 ? 1 : i % 3 * 2)))
        }
        images.append(try TensorWriter.encode(format: .safetensors, tensors: tensors, metadata: [("k", "v"), ("ü", "\"")]))
        return images
    }

    /// The header region of a valid seed, where textual edits are most interesting.
    static func headerRange(_ image: [UInt8], _ format: TensorFileFormat) -> Range<Int> {
        image.withUnsafeBytes { buffer in
            switch format {
            case .safetensors: 8..<(8 + Int(buffer.loadUnaligned(as: UInt64.self)))
            case .npy: 10..<(10 + Int(buffer.loadUnaligned(fromByteOffset: 8, as: UInt16.self)))
            }
        }
    }

    static func mutate(_ image: inout [UInt8], header: Range<Int>, format: TensorFileFormat, rng: inout SeededGenerator) {
        func position(in range: Range<Int>) -> Int? {
            let clamped = range.clamped(to: 0..<image.count)
            return clamped.isEmpty ? nil : clamped.lowerBound + rng.below(clamped.count)
        }
        let anywhere = 0..<image.count
        switch rng.below(10) {
        case 0:   // bit flips
            for _ in 0...rng.below(4) { if let i = position(in: anywhere) { image[i] ^= 1 << UInt8(rng.below(8)) } }
        case 1:   // byte overwrite
            if let i = position(in: anywhere) {
                image[i] = rng.below(2) == 0 ? UInt8(truncatingIfNeeded: rng.next()) : interesting[rng.below(interesting.count)]
            }
        case 2:   // truncation
            image.removeLast(rng.below(image.count + 1))
        case 3:   // extension
            image += rng.below(2) == 0 ? rng.bytes(1 + rng.below(64)) : [UInt8](repeating: 0, count: 1 + rng.below(16))
        case 4:   // header-length edit
            let candidates: [UInt64] = [0, 1, 2, 7, 8, UInt64(header.count) &- 1, UInt64(header.count) + 1, UInt64(header.count) + 8,
                                        UInt64(image.count), UInt64(image.count) &- 8, 65535, 100_000_000, 100_000_001,
                                        UInt64(UInt32.max), 1 << 63, .max, rng.next() % 4096]
            let value = candidates[rng.below(candidates.count)]
            let (offset, width) = format == .safetensors ? (0, 8) : [(8, 2), (8, 4), (6, 1), (7, 1)][rng.below(4)]
            for k in 0..<width where offset + k < image.count { image[offset + k] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(k))) }
        case 5:   // header text: replace, insert or delete a grammar character
            guard let i = position(in: header) else { break }
            let char = interesting[rng.below(interesting.count)]
            switch rng.below(3) {
            case 0: image[i] = char
            case 1: image.insert(char, at: i)
            default: image.remove(at: i)
            }
        case 6:   // digit edits: the numbers are offsets and dimensions
            let digits = header.clamped(to: 0..<image.count).filter { (0x30...0x39).contains(image[$0]) }
            guard let i = digits.isEmpty ? nil : digits[rng.below(digits.count)] else { break }
            switch rng.below(4) {
            case 0: image[i] = 0x30 + UInt8(rng.below(10))
            case 1: image.insert(contentsOf: Array(String(rng.next() >> UInt64(rng.below(64))).utf8), at: i)
            case 2: image.insert(UInt8(ascii: "-"), at: i)
            default: image.insert(contentsOf: Array([".5", "e9", "e30", "0", ".0"][rng.below(5)].utf8), at: i + 1)
            }
        case 7:   // copy a slice of the header elsewhere in it (duplicated keys, nested brackets, ...)
            guard let from = position(in: header), let to = position(in: header) else { break }
            let length = min(1 + rng.below(40), image.count - from)
            image.insert(contentsOf: image[from..<(from + length)], at: to)
        case 8:   // quote/bracket swap
            let structural = header.clamped(to: 0..<image.count).filter { Array("\"'{}[](),:".utf8).contains(image[$0]) }
            if !structural.isEmpty { image[structural[rng.below(structural.count)]] = interesting[rng.below(interesting.count)] }
        default:  // data-region overwrite: usually still valid, exercising the success path
            if image.count > header.upperBound, let i = position(in: header.upperBound..<image.count) {
                image[i] = UInt8(truncatingIfNeeded: rng.next())
            }
        }
    }

    /// Parses a mutant and checks the contract.
    static func check(_ image: [UInt8], format: TensorFileFormat, path: String, into outcome: inout Outcome) {
        image.withUnsafeBytes { buffer in
            do throws(TensorIOError) {
                let parsed = try TensorFile.parse(bytes: buffer, path: path, format: format)
                outcome.parsed += 1
                let start = buffer.baseAddress.map { UInt(bitPattern: $0) } ?? 0
                let end = start + UInt(buffer.count)
                for view in parsed.tensors {
                    let base = view.bytes.baseAddress.map { UInt(bitPattern: $0) } ?? start
                    let inside = base >= start && base + UInt(view.bytes.count) <= end
                    let product = view.shape.reduce(1) { $0.multipliedReportingOverflow(by: $1).partialValue }
                    if !inside || view.count != product || view.bytes.count != view.count * view.dtype.byteSize
                        || parsed.tensor(named: view.name) == nil {
                        outcome.failures.append("bad view \(view.name) \(view.shape) in \(image.count)-byte image")
                    }
                }
            } catch {
                outcome.rejected += 1
                let text = error.description
                if !text.hasPrefix(path + ": ") || !isOneLine(text) { outcome.failures.append("bad error: \(text)") }
            }
        }
    }

    func run(_ format: TensorFileFormat, iterations: Int, seed: UInt64) throws -> Outcome {
        let seeds = try Self.seeds(format)
        let headers = seeds.map { Self.headerRange($0, format) }
        var rng = SeededGenerator(seed: seed)
        var outcome = Outcome()
        let path = format == .npy ? "fuzz/mutant.npy" : "fuzz/mutant.safetensors"
        for _ in 0..<iterations {
            let pick = rng.below(seeds.count)
            var image = seeds[pick]
            for _ in 0...rng.below(3) { Self.mutate(&image, header: headers[pick], format: format, rng: &rng) }
            Self.check(image, format: format, path: path, into: &outcome)
            if rng.below(16) == 0 {   // occasionally feed one format's mutant to the other parser
                Self.check(image, format: format == .npy ? .safetensors : .npy, path: path, into: &outcome)
            }
        }
        return outcome
    }

    @Test(.timeLimit(.minutes(1)))
    func safetensorsMutants() throws {
        let outcome = try run(.safetensors, iterations: 70_000, seed: 0x5AFE_7E45)
        #expect(outcome.failures.isEmpty, "\(outcome.failures.prefix(5))")
        #expect(outcome.parsed > 1_000 && outcome.rejected > 10_000, "parsed \(outcome.parsed), rejected \(outcome.rejected)")
    }

    @Test(.timeLimit(.minutes(1)))
    func npyMutants() throws {
        let outcome = try run(.npy, iterations: 40_000, seed: 0x4E50_5921)
        #expect(outcome.failures.isEmpty, "\(outcome.failures.prefix(5))")
        #expect(outcome.parsed > 1_000 && outcome.rejected > 5_000, "parsed \(outcome.parsed), rejected \(outcome.rejected)")
    }
}
