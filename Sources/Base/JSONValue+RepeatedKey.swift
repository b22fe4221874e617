extension JSONValue {
    /// The first key that appears twice in one object anywhere in this value (JSON allows it; an input file that
    /// does it means one of the two by mistake, and which one a reader keeps is the reader's choice).
    public var repeatedKey: String? {
        if let members = objectValue {
            var seen = Set<String>()
            for (key, _) in members where !seen.insert(key).inserted { return key }
            for (_, value) in members { if let key = value.repeatedKey { return key } }
        }
        for item in arrayValue ?? [] { if let key = item.repeatedKey { return key } }
        return nil
    }
}
