/// The dimensions of a tensor, up to `Shape.maxRank`, stored inline (no heap allocation, so shapes can be made
/// in a training step that must not allocate).
public struct Shape: Hashable, Sendable, CustomStringConvertible, ExpressibleByArrayLiteral {
    public static let maxRank = 6
    @usableFromInline var d: (Int, Int, Int, Int, Int, Int)
    public let rank: Int

    @inlinable public init(_ dims: Int...) { self.init(dims) }

    // Fixed ranks without an array (the variadic initializer above builds one), for code that must not allocate.
    @inlinable public init(_ a: Int) { self.init(rank: 1, d: (a, 0, 0, 0, 0, 0)) }
    @inlinable public init(_ a: Int, _ b: Int) { self.init(rank: 2, d: (a, b, 0, 0, 0, 0)) }
    @inlinable public init(_ a: Int, _ b: Int, _ c: Int) { self.init(rank: 3, d: (a, b, c, 0, 0, 0)) }
    @inlinable public init(_ a: Int, _ b: Int, _ c: Int, _ e: Int) { self.init(rank: 4, d: (a, b, c, e, 0, 0)) }

    public init(arrayLiteral dims: Int...) { self.init(dims) }

    @inlinable public init<C: Collection>(_ dims: C) where C.Element == Int {
        precondition(dims.count <= Shape.maxRank, "rank \(dims.count) above \(Shape.maxRank)")
        precondition(dims.allSatisfy { $0 >= 0 }, "negative dimension in \(Array(dims))")
        d = (0, 0, 0, 0, 0, 0)
        rank = dims.count
        for (i, n) in dims.enumerated() { self[i] = n }
    }

    /// A scalar's shape (rank 0, one element).
    public static let scalar = Shape([Int]())

    @inlinable public subscript(i: Int) -> Int {
        get {
            precondition(i >= 0 && i < rank, "axis \(i) out of range for rank \(rank)")
            switch i {
            case 0: return d.0
            case 1: return d.1
            case 2: return d.2
            case 3: return d.3
            case 4: return d.4
            default: return d.5
            }
        }
        set {
            switch i {
            case 0: d.0 = newValue
            case 1: d.1 = newValue
            case 2: d.2 = newValue
            case 3: d.3 = newValue
            case 4: d.4 = newValue
            default: d.5 = newValue
            }
        }
    }

    /// The number of elements (1 for a scalar).
    @inlinable public var count: Int {
        var n = 1
        for i in 0..<rank { n *= self[i] }
        return n
    }

    public var dims: [Int] { (0..<rank).map { self[$0] } }

    /// The last dimension (1 for a scalar).
    @inlinable public var last: Int { rank == 0 ? 1 : self[rank - 1] }

    /// The product of the dimensions before `axis`.
    @inlinable public func outer(_ axis: Int) -> Int {
        var n = 1
        for i in 0..<axis { n *= self[i] }
        return n
    }

    /// The product of the dimensions after `axis`.
    @inlinable public func inner(_ axis: Int) -> Int {
        var n = 1
        for i in (axis + 1)..<max(rank, axis + 1) { n *= self[i] }
        return n
    }

    /// `axis` counted from the end when negative.
    @inlinable public func normalized(axis: Int) -> Int {
        let a = axis < 0 ? axis + rank : axis
        precondition(a >= 0 && a < rank, "axis \(axis) out of range for rank \(rank)")
        return a
    }

    /// The shape with dimension `axis` replaced.
    @inlinable public func replacing(axis: Int, with n: Int) -> Shape {
        var s = self
        s[axis] = n
        return s
    }

    /// The shape with axes `a` and `b` swapped.
    @inlinable public func swapping(_ a: Int, _ b: Int) -> Shape {
        var s = self
        s[a] = self[b]
        s[b] = self[a]
        return s
    }

    /// The shape without dimension `axis`.
    @inlinable public func removing(axis: Int) -> Shape {
        var s = Shape(rank: rank - 1, d: (0, 0, 0, 0, 0, 0))
        for i in 0..<(rank - 1) { s[i] = self[i < axis ? i : i + 1] }
        return s
    }

    /// The shape with the last dimension removed.
    @inlinable public var droppingLast: Shape {
        precondition(rank > 0)
        var s = Shape(rank: rank - 1, d: d)
        s[rank - 1] = 0
        return s
    }

    /// The shape with `n` appended.
    @inlinable public func appending(_ n: Int) -> Shape {
        precondition(rank < Shape.maxRank, "rank \(rank + 1) above \(Shape.maxRank)")
        var s = Shape(rank: rank + 1, d: d)
        s[rank] = n
        return s
    }

    @inlinable init(rank: Int, d: (Int, Int, Int, Int, Int, Int)) {
        self.rank = rank
        self.d = d
    }

    /// numpy's broadcasting: dimensions aligned from the end, each pair equal or one of them 1; nil when they
    /// do not broadcast.
    public static func broadcast(_ a: Shape, _ b: Shape) -> Shape? {
        let rank = max(a.rank, b.rank)
        var s = Shape(rank: rank, d: (0, 0, 0, 0, 0, 0))
        for i in 0..<rank {
            let x = i < rank - a.rank ? 1 : a[i - (rank - a.rank)]
            let y = i < rank - b.rank ? 1 : b[i - (rank - b.rank)]
            guard x == y || x == 1 || y == 1 else { return nil }
            s[i] = x == 1 ? y : x
        }
        return s
    }

    public static func == (a: Shape, b: Shape) -> Bool {
        guard a.rank == b.rank else { return false }
        for i in 0..<a.rank where a[i] != b[i] { return false }
        return true
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(rank)
        for i in 0..<rank { hasher.combine(self[i]) }
    }

    public var description: String { "[" + dims.map(String.init).joined(separator: ", ") + "]" }
}
