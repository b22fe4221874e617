extension Sequence {
    /// The distinct keys of the elements, in the order they are first seen (the order of blocks, strategies and fault
    /// sets in results and reports).
    public func firstSeen<Key: Hashable>(_ key: (Element) -> Key) -> [Key] {
        var seen = Set<Key>(), out = [Key]()
        for element in self {
            let k = key(element)
            if seen.insert(k).inserted { out.append(k) }
        }
        return out
    }
}

extension Collection where Element == Double {
    /// The arithmetic mean, NaN for no values.
    public var mean: Double { isEmpty ? .nan : reduce(0, +) / Double(count) }
}
