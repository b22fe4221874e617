import Base
import Formats
import Foundation
import Testing

/// The one number formatter, against C's printf (an independent implementation) and its own rules.
@Suite struct FiguresTests {
    @Test func nonFiniteValuesKeepTheirSign() {
        for f in [Figures.exact, Figures.figure, { Figures.fixed($0, 2) }, { Figures.significant($0, 6) }, { Figures.constant($0) }] {
            #expect(f(.infinity) == "inf" && f(-.infinity) == "-inf" && f(.nan) == "nan")
        }
        #expect(Figures.percent(.nan) == "—")
    }

    @Test func significantIsPrintfG() {
        var rng = SeededGenerator(seed: 5)
        for _ in 0..<20_000 {
            let x = Double(sign: rng.next() & 1 == 0 ? .plus : .minus, exponent: Int(rng.next() % 200) - 100, significand: 1 + rng.nextUnit())
            for digits in [3, 6, 9] {
                #expect(Figures.significant(x, digits) == String(format: "%.\(digits)g", x))
            }
        }
    }

    @Test func figuresHaveThreeSignificantDigits() throws {
        #expect(Figures.figure(0) == "0" && Figures.figure(1) == "1.00" && Figures.figure(12.345) == "12.3" && Figures.figure(789.4) == "789")
        #expect(Figures.figure(4.5e-4) == "4.50e-4" && Figures.figure(1.234e6) == "1.23e6" && Figures.figure(-0.0123) == "-0.0123")
        #expect(Figures.figure(9.996e6) == "1.00e7", "rounding carries into the exponent")
        var rng = SeededGenerator(seed: 6)
        for _ in 0..<20_000 {
            let x = Double(sign: .plus, exponent: Int(rng.next() % 80) - 40, significand: 1 + rng.nextUnit())
            let text = Figures.figure(x)
            let value = try #require(Double(text), "\(text)")
            #expect(abs(value - x) <= 0.005 * x * 1.0000001, "\(x) -> \(text)")
            let mantissa = text.split(separator: "e")[0].filter { $0 != "." }.drop { $0 == "0" }
            #expect(x >= 1000 && x < 1e6 ? !text.contains(".") && !text.contains("e") : mantissa.count == 3,
                    "\(x) -> \(text): three significant digits, whole numbers from 1000 to 1e6")
        }
    }

    @Test func fixedAndPercent() {
        #expect(Figures.fixed(1.005, 0) == "1" && Figures.fixed(-0.05, 2) == "-0.05" && Figures.fixed(0.004, 2) == "0.00" && Figures.fixed(12.5, 1) == "12.5")
        #expect(Figures.percent(0) == "0%" && Figures.percent(0.5) == "50%" && Figures.percent(0.012) == "1.2%")
        #expect(Figures.steps([]) == "—" && Figures.steps([4]) == "step 4" && Figures.steps(Array(1...8)) == "steps 1, 2, 3, 4, 5, 6 and 2 more")
    }

    @Test func powersOfTwoReadAsPowers() {
        #expect(Figures.constant(65504) == "65504" && Figures.constant(65536) == "65536" && Figures.constant(131072) == "2^17")
        #expect(Figures.constant(0x1p-24) == "2^-24" && Figures.constant(0.5) == "0.5" && Figures.constant(0) == "0")
        #expect(Figures.constant(65536, plain: -9...9) == "2^16" && Figures.constant(1024, plain: -9...9) == "2^10" && Figures.constant(512, plain: -9...9) == "512")
    }
}

@Suite struct TickTests {
    @Test func ticksAreExactAndShort() {
        #expect(Figures.tick(65536) == "65536" && Figures.tick(0) == "0" && Figures.tick(-300) == "-300")
        #expect(Figures.tick(0.125) == "0.125" && Figures.tick(2.5) == "2.5" && Figures.tick(0.001) == "0.001")
        #expect(Figures.tick(1e7) == "1e7" && Figures.tick(2.5e-5) == "2.5e-5" && Figures.tick(-5e-4) == "-5e-4" && Figures.tick(1e6) == "1e6")
        #expect(Figures.tick(-.infinity) == "-inf" && Figures.tick(.nan) == "nan")
        // Every 1-2-5 tick from 1e-9 to 1e12 reads back as the same number.
        for e in -9...12 {
            for m in [1.0, 2, 5] {
                let v = m * pow(10, Double(e))
                let back = Double(Figures.tick(v))!
                #expect(abs(back - v) <= v * 1e-12, "\(v) -> \(Figures.tick(v))")
            }
        }
    }
}
