import Foundation

/// Where `suite run NAME` looks for the lab's suite files when no `--suites` directory is given, first match wins:
/// 1. `$PRECISIONLAB_HOME/fixtures/suites` or `$PRECISIONLAB_HOME/suites` (a checkout, or an installed copy);
/// 2. `fixtures/suites` of the current directory (a checkout's root: the path stays relative, as reports show it);
/// 3. next to the executable: `<bin>/../share/precision-lab/suites` (installed with the binary), or the checkout the
///    binary was built in (`<checkout>/.build/release/precision-lab`: the nearest ancestor holding `fixtures/suites`).
public enum SuiteLocation {
    /// The candidate directories, in the order they are tried.
    public static func candidates(environment: [String: String], executable: String?) -> [String] {
        var out = [String]()
        if let home = environment["PRECISIONLAB_HOME"], !home.isEmpty {
            out += ["\(home)/fixtures/suites", "\(home)/suites"]
        }
        out.append("fixtures/suites")
        if let executable {
            let bin = URL(fileURLWithPath: executable).resolvingSymlinksInPath().deletingLastPathComponent()
            out.append(bin.deletingLastPathComponent().appendingPathComponent("share/precision-lab/suites").path)
            var directory = bin
            while directory.path != "/" {
                out.append(directory.appendingPathComponent("fixtures/suites").path)
                directory = directory.deletingLastPathComponent()
            }
        }
        return out
    }

    /// The first of `candidates` that is a directory, or nil.
    public static func directory(among candidates: [String]) -> String? {
        candidates.first { path in
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue
        }
    }
}
