import Foundation
import Testing
import TestSupport

/// The module layout of DESIGN.md, checked against the code: the manifest's targets, every source file's imports,
/// and the size of files and functions.
@Suite struct ArchitectureTests {
    /// Each target of Package.swift and the targets it declares as dependencies.
    static func targets() throws -> [String: Set<String>] {
        let manifest = try Repository.text("Package.swift")
        let pattern = try NSRegularExpression(pattern: #"\.(?:target|executableTarget|testTarget|systemLibrary)\(\s*name:\s*"(\w+)"(?:,\s*dependencies:\s*\[([^\]]*)\])?"#)
        var out = [String: Set<String>]()
        for m in pattern.matches(in: manifest, range: NSRange(manifest.startIndex..., in: manifest)) {
            let name = String(manifest[Range(m.range(at: 1), in: manifest)!])
            var deps = Set<String>()
            if let r = Range(m.range(at: 2), in: manifest) {
                let list = String(manifest[r])
                for d in try NSRegularExpression(pattern: #""(\w+)""#).matches(in: list, range: NSRange(list.startIndex..., in: list)) {
                    deps.insert(String(list[Range(d.range(at: 1), in: list)!]))
                }
                if list.contains(".product(name: \"ArgumentParser\"") { deps.insert("ArgumentParser") }
            }
            out[name] = deps
        }
        return out
    }

    /// What a target reaches through its dependencies.
    static func closure(_ target: String, _ targets: [String: Set<String>]) -> Set<String> {
        var seen = Set<String>(), stack = Array(targets[target] ?? [])
        while let t = stack.popLast() {
            if seen.insert(t).inserted { stack += targets[t] ?? [] }
        }
        return seen
    }

    /// The Swift files of a source or test directory, by target.
    static func files(in directory: String) throws -> [(target: String, path: String, text: String)] {
        var out = [(String, String, String)]()
        let root = Repository.url(directory)
        for target in try FileManager.default.contentsOfDirectory(atPath: root.path).sorted() {
            guard let walker = FileManager.default.enumerator(atPath: root.appendingPathComponent(target).path) else { continue }
            for case let file as String in walker where file.hasSuffix(".swift") {
                let path = "\(directory)/\(target)/\(file)"
                out.append((target, path, try Repository.text(path)))
            }
        }
        return out
    }

    static func imports(_ text: String) -> [String] {
        text.split(separator: "\n").compactMap { line in
            let words = line.split(separator: " ")
            let i = words.first == "@_exported" || words.first == "@testable" ? 1 : 0
            return words.count > i + 1 && words[i] == "import" ? String(words[i + 1]) : nil
        }
    }

    @Test func everyImportIsADeclaredDependency() throws {
        let targets = try Self.targets()
        for (target, path, text) in try Self.files(in: "Sources") + Self.files(in: "Tests") {
            let declared = targets[target] ?? []
            for module in Self.imports(text) where targets[module] != nil || module == "ArgumentParser" {
                #expect(declared.contains(module), "\(path) imports \(module), which \(target) does not declare in Package.swift")
            }
        }
    }

    @Test func theArrowsRunOneWay() throws {
        let targets = try Self.targets()
        for (target, path, text) in try Self.files(in: "Sources") where Self.imports(text).contains("CMPFR") {
            #expect(target == "Reference", "\(path): only Reference imports CMPFR")
        }
        for engine in ["Base", "Tensors", "Autograd", "Training"] {
            let reached = Self.closure(engine, targets)
            #expect(reached.isDisjoint(with: ["CMPFR", "Reference", "Reductions", "Experiments", "Reports"]),
                    "\(engine) reaches \(reached.sorted())")
        }
        #expect(Self.closure("Base", targets) == ["Formats"])
        #expect(Self.closure("Results", targets).isSubset(of: ["Formats", "Base"]))
        #expect(!Self.closure("Experiments", targets).contains("Reports"))
        // Reports turns result types into text: it reaches no module that computes.
        #expect(Self.closure("Reports", targets).isSubset(of: ["Formats", "Base", "Results"]), "Reports reaches \(Self.closure("Reports", targets).sorted())")
        // Only the CLI (and the umbrella it imports) sees everything.
        for (name, deps) in targets where !name.hasSuffix("Tests") && !["PrecisionLab", "PrecisionLabCLI", "TestSupport"].contains(name) {
            #expect(!deps.contains("PrecisionLab") && !deps.contains("PrecisionLabCLI"), "\(name) depends on the umbrella or the CLI")
        }
        // The umbrella only re-exports.
        for (target, path, text) in try Self.files(in: "Sources") where target == "PrecisionLab" {
            let code = text.split(separator: "\n").filter { !$0.hasPrefix("//") && !$0.isEmpty }
            #expect(code.allSatisfy { $0.hasPrefix("@_exported import ") }, "\(path) holds more than re-exports")
        }
    }

    @Test func filesAndFunctionsAreSmallEnoughToRead() throws {
        for (_, path, text) in try Self.files(in: "Sources") {
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
            #expect(lines.count <= 400, "\(path) has \(lines.count) lines")
            for f in Self.functions(lines) where f.length > 60 {
                #expect(f.explained, "\(path):\(f.line): a function of \(f.length) lines without a comment saying why it is long")
            }
        }
    }

    /// Functions and their lengths, by brace matching (braces in string literals and comments are skipped). A long
    /// function is explained by a line in its doc comment that starts with "Long:".
    static func functions(_ lines: [Substring]) -> [(line: Int, length: Int, explained: Bool)] {
        var out = [(Int, Int, Bool)]()
        for (i, line) in lines.enumerated() {
            let t = line.drop { $0 == " " }
            let isFunction = t.contains("func ") || t.hasPrefix("init(") || t.hasPrefix("public init(") || t.hasPrefix("init?(")
                || t.hasPrefix("public init?(")
            guard isFunction, !t.hasPrefix("//"), !t.hasPrefix("///"), t.contains("(") else { continue }
            var depth = 0, opened = false, end = i
            scan: for j in i..<lines.count {
                var inString = false, previous: Character = " "
                for c in lines[j] {
                    if c == "\"" && previous != "\\" { inString.toggle() }
                    if !inString && c == "/" && previous == "/" { break }
                    if !inString && c == "{" { depth += 1; opened = true }
                    if !inString && c == "}" { depth -= 1 }
                    previous = c
                }
                if opened && depth <= 0 { end = j; break scan }
                if !opened && j > i + 8 { break scan }   // a protocol requirement: no body
            }
            guard opened else { continue }
            var k = i - 1, explained = false
            while k >= 0, lines[k].drop(while: { $0 == " " }).hasPrefix("//") || lines[k].drop(while: { $0 == " " }).hasPrefix("@") {
                if lines[k].contains("Long:") { explained = true }
                k -= 1
            }
            out.append((i + 1, end - i + 1, explained))
        }
        return out
    }
}
