/// Reading and header writing for NumPy `.npy` files (format versions 1.0, 2.0 and 3.0):
///
///     "\x93NUMPY" major minor, header length (u16 for 1.x, u32 for 2.x/3.x), header, data
///
/// The header is a Python dict literal such as `{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }`.
/// Rather than evaluate Python, TensorIO accepts exactly the literal grammar numpy writes (any key order,
/// either quote style, optional trailing comma, whitespace) and rejects everything else, so a corrupt header
/// is an error rather than a guess. Only little-endian f2/f4/f8 are supported: they are what the lab's
/// experiments exchange, and every other dtype would need conversion code we have no use for.
enum Npy {
    static let magic: [UInt8] = [0x93] + Array("NUMPY".utf8)
    /// numpy aligns the data to 64 bytes so the array can be memory-mapped with any SIMD alignment.
    static let alignment = 64
    /// numpy leaves room for the growth axis to reach this many digits (`GROWTH_AXIS_MAX_DIGITS`).
    static let growthAxisMaxDigits = 21

    static func parse(_ bytes: UnsafeRawBufferPointer, path: String) throws(TensorIOError) -> ParsedTensors {
        func fail(_ message: String) -> TensorIOError { TensorIOError(path: path, message: message) }

        guard bytes.count >= 10 else { throw fail("file is \(bytes.count) bytes, too short for a .npy preamble") }
        guard bytes.prefix(6).elementsEqual(magic) else { throw fail("not a .npy file (bad magic)") }
        let major = bytes[6], minor = bytes[7]
        let headerStart: Int, headerLength: Int
        switch (major, minor) {
        case (1, 0):
            headerStart = 10
            headerLength = Int(UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt16.self)))
        case (2, 0), (3, 0):
            guard bytes.count >= 12 else { throw fail("file is \(bytes.count) bytes, too short for a .npy \(major).0 preamble") }
            headerStart = 12
            headerLength = Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt32.self)))
        default:
            throw fail("unsupported .npy format version \(major).\(minor)")
        }
        guard headerLength <= bytes.count - headerStart else {
            throw fail("header length \(headerLength) runs past the end of the file (\(bytes.count) bytes)")
        }
        let dataStart = headerStart + headerLength
        var scanner = HeaderScanner(bytes: UnsafeRawBufferPointer(rebasing: bytes[headerStart..<dataStart]))
        let header: Header
        do { header = try scanner.parse() } catch { throw fail("invalid .npy header: \(error.message)") }

        let descr = header.descr
        guard let dtype = TensorDType(npyDescr: descr) else {
            if descr.hasPrefix(">") { throw fail("big-endian \(quoted(descr)) is not supported") }
            throw fail("dtype \(quoted(descr)) is not supported (only <f2, <f4, <f8)")
        }
        guard let count = elementCount(header.shape), let needed = byteCount(header.shape, dtype) else {
            throw fail("shape \(tupleText(header.shape)) of \(descr) overflows the byte count")
        }
        let dataLength = bytes.count - dataStart
        guard dataLength == needed else {
            throw fail("data is \(dataLength) bytes but shape \(tupleText(header.shape)) of \(descr) needs \(needed) bytes")
        }
        let view = TensorView(name: stem(of: path), dtype: dtype, shape: header.shape, count: count,
                              fortranOrder: header.fortranOrder,
                              bytes: UnsafeRawBufferPointer(rebasing: bytes[dataStart...]))
        return ParsedTensors(tensors: [view], metadata: [])
    }

    /// "grads" for "/x/grads.npy": the tensor's name is the file's.
    static func stem(of path: String) -> String {
        let name = path.split(separator: "/", omittingEmptySubsequences: false).last.map(String.init) ?? path
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return name }
        return String(name[..<dot])
    }

    /// Python's `repr` of a tuple of ints: `()`, `(3,)`, `(3, 4)`.
    static func tupleText(_ shape: [Int]) -> String {
        shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
    }

    /// The complete preamble (magic, version, length, header, padding, newline) that numpy 2.x `np.save`
    /// writes for this array, byte for byte: keys sorted, the growth-axis spare spaces, then padding so the
    /// data starts on a 64-byte boundary (a full 64 spaces when already aligned, as numpy does). Version 2.0
    /// is used only when the header does not fit in 1.0's u16 length, as numpy does too.
    static func preamble(descr: String, shape: [Int], fortranOrder: Bool) -> [UInt8] {
        var dict = "{'descr': '\(descr)', 'fortran_order': \(fortranOrder ? "True" : "False"), 'shape': \(tupleText(shape)), }"
        if let growthAxis = fortranOrder ? shape.last : shape.first {
            dict += String(repeating: " ", count: max(0, growthAxisMaxDigits - String(growthAxis).count))
        }
        let text = Array(dict.utf8)
        let contentLength = text.count + 1   // + the final newline
        for (major, lengthSize) in [(UInt8(1), 2), (UInt8(2), 4)] {
            let padding = alignment - (magic.count + 2 + lengthSize + contentLength) % alignment
            let total = contentLength + padding
            if lengthSize == 2 && total > Int(UInt16.max) { continue }
            var out = magic + [major, 0]
            withUnsafeBytes(of: UInt32(total).littleEndian) { out.append(contentsOf: $0.prefix(lengthSize)) }
            out += text
            out += repeatElement(UInt8(ascii: " "), count: padding)
            out.append(UInt8(ascii: "\n"))
            return out
        }
        return []   // unreachable: a 4 GiB header would need ~400 million dimensions
    }

    struct Header {
        var descr: String
        var fortranOrder: Bool
        var shape: [Int]
    }

    struct HeaderError: Error { let message: String }

    /// A scanner for the tiny subset of Python literal syntax numpy headers use. Not recursive, so hostile
    /// input cannot exhaust the stack; linear in the header length.
    struct HeaderScanner {
        let bytes: UnsafeRawBufferPointer
        var index = 0

        init(bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

        private var current: UInt8? { index < bytes.count ? bytes[index] : nil }

        private func fail(_ message: String) -> HeaderError { HeaderError(message: message) }

        private mutating func skipWhitespace() {
            while let byte = current, byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D { index += 1 }
        }

        private mutating func expect(_ ascii: Unicode.Scalar) throws(HeaderError) {
            guard current == UInt8(ascii: ascii) else { throw fail("expected '\(ascii)' at byte \(index)") }
            index += 1
        }

        mutating func parse() throws(HeaderError) -> Header {
            skipWhitespace()
            try expect("{")
            var descr: String?, fortranOrder: Bool?, shape: [Int]?
            while true {
                skipWhitespace()
                if current == UInt8(ascii: "}") { index += 1; break }
                let key = try parseString()
                skipWhitespace()
                try expect(":")
                skipWhitespace()
                switch key {
                case "descr" where descr == nil:
                    guard current == UInt8(ascii: "'") || current == UInt8(ascii: "\"") else {
                        throw fail("descr is not a string (structured dtypes are not supported)")
                    }
                    descr = try parseString()
                case "fortran_order" where fortranOrder == nil: fortranOrder = try parseBool()
                case "shape" where shape == nil: shape = try parseShape()
                case "descr", "fortran_order", "shape": throw fail("duplicate key '\(key)'")
                default: throw fail("unexpected key \(quoted(key))")
                }
                skipWhitespace()
                if current == UInt8(ascii: ",") { index += 1; continue }
                try expect("}")
                break
            }
            skipWhitespace()   // numpy pads with spaces and ends with '\n'
            guard index == bytes.count else { throw fail("unexpected text after the header dict at byte \(index)") }
            guard let descr else { throw fail("missing key 'descr'") }
            guard let fortranOrder else { throw fail("missing key 'fortran_order'") }
            guard let shape else { throw fail("missing key 'shape'") }
            return Header(descr: descr, fortranOrder: fortranOrder, shape: shape)
        }

        /// A quoted string without escapes (numpy never writes any).
        private mutating func parseString() throws(HeaderError) -> String {
            guard let quote = current, quote == UInt8(ascii: "'") || quote == UInt8(ascii: "\"") else {
                throw fail("expected a quoted string at byte \(index)")
            }
            index += 1
            let start = index
            while let byte = current, byte != quote {
                guard byte != UInt8(ascii: "\\"), byte != 0x0A else { throw fail("unsupported character in string at byte \(index)") }
                index += 1
            }
            guard current == quote else { throw fail("unterminated string") }
            let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
            index += 1
            return text
        }

        private mutating func parseBool() throws(HeaderError) -> Bool {
            for (word, value) in [("True", true), ("False", false)] {
                let utf8 = Array(word.utf8)
                if bytes.count - index >= utf8.count, bytes[index..<(index + utf8.count)].elementsEqual(utf8) {
                    index += utf8.count
                    return value
                }
            }
            throw fail("fortran_order is not True or False")
        }

        /// `()`, `(3,)`, `(3, 4)` or `(3, 4,)`; `(3)` is an int in Python, not a tuple, so it is rejected.
        private mutating func parseShape() throws(HeaderError) -> [Int] {
            try expect("(")
            var dims: [Int] = []
            var trailingComma = false
            while true {
                skipWhitespace()
                if current == UInt8(ascii: ")") { index += 1; break }
                dims.append(try parseDimension())
                skipWhitespace()
                trailingComma = current == UInt8(ascii: ",")
                if trailingComma { index += 1; continue }
                try expect(")")
                break
            }
            guard dims.count != 1 || trailingComma else { throw fail("shape (\(dims[0])) is not a tuple") }
            return dims
        }

        /// A non-negative decimal integer without leading zeros (a Python syntax error) that fits in `Int`.
        private mutating func parseDimension() throws(HeaderError) -> Int {
            let start = index
            var value = 0
            while let byte = current, byte &- UInt8(ascii: "0") < 10 {
                guard index == start || bytes[start] != UInt8(ascii: "0") else { throw fail("dimension with a leading zero at byte \(start)") }
                let (times10, o1) = value.multipliedReportingOverflow(by: 10)
                let (sum, o2) = times10.addingReportingOverflow(Int(byte - UInt8(ascii: "0")))
                guard !o1, !o2 else { throw fail("dimension too large at byte \(start)") }
                value = sum
                index += 1
            }
            guard index > start else { throw fail("expected a non-negative integer dimension at byte \(start)") }
            return value
        }
    }
}
