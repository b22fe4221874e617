/// What the header states besides the results.
public struct SuiteContext: Sendable {
    public var suite: String
    public var description: String
    /// Where the suite was read from.
    public var source: String
    /// One line per block: its task, model, hyperparameters and matrix.
    public var blocks: [(name: String, summary: String)]
    public var version: String
    public var date: String
    public var machine: String
    /// A report of the formats and reductions sections (relative link), if there is one.
    public var labReport: String?

    public init(suite: String, description: String, source: String, blocks: [(name: String, summary: String)], version: String,
                date: String, machine: String, labReport: String? = nil) {
        self.suite = suite
        self.description = description
        self.source = source
        self.blocks = blocks
        self.version = version
        self.date = date
        self.machine = machine
        self.labReport = labReport
    }
}
