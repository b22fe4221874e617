/// The lab's random number generator: xoshiro256** (Blackman and Vigna, 2018), seeded through SplitMix64 so
/// that any 64-bit seed, 0 included, gives a well-mixed state. Every random experiment, fixture and test is
/// reproducible from its seed alone; the sequence is part of the lab's contract and never changes.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    @usableFromInline var state: (UInt64, UInt64, UInt64, UInt64)

    public init(seed: UInt64) {
        var s = seed
        func splitMix() -> UInt64 {
            s &+= 0x9E37_79B9_7F4A_7C15
            var z = s
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        state = (splitMix(), splitMix(), splitMix(), splitMix())
    }

    @inlinable public mutating func next() -> UInt64 {
        let result = ((state.1 &* 5) << 7 | (state.1 &* 5) >> 57) &* 9
        let t = state.1 << 17
        state.2 ^= state.0
        state.3 ^= state.1
        state.1 ^= state.2
        state.0 ^= state.3
        state.2 ^= t
        state.3 = state.3 << 45 | state.3 >> 19
        return result
    }

    /// A uniform Double in [0, 1) with 53 random bits.
    @inlinable public mutating func nextUnit() -> Double { Double(next() >> 11) * 0x1p-53 }
}

#if canImport(Glibc)
import Glibc
#endif

extension SeededGenerator {
    /// A standard normal value by Box-Muller from two uniforms (the second value of the pair is discarded, so
    /// every call uses exactly two draws).
    public mutating func nextNormal() -> Double {
        let u1 = max(nextUnit(), 0x1p-53), u2 = nextUnit()
        return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    }
}
