import ArgumentParser
import Foundation
import PrecisionLab

struct NormCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "norm",
        abstract: "The exact norm of each tensor and of all together, and what each reduction algorithm gets.",
        discussion: """
        The exact norm is computed exactly and correctly rounded (to Float64, and to the tensor's dtype). Each \
        algorithm's result is shown with its error in ulps of its output format, its relative error, the bits it \
        lost, and its a-priori error bound in ulps. Flags: O = overflowed (inf/NaN while the norm is finite), \
        U = squares fell below the accumulator's normal range, ! = error above the stated bound. The total is \
        the norm of all tensors as one vector (the total norm of gradient clipping); FP8 and integer tensors are \
        skipped unless named. Algorithms: \(ReductionAlgorithm.allCases.map(\.rawValue).joined(separator: ", ")); \
        --algorithms none computes the exact norms only (one pass over the data at memory speed). Pages of the file \
        are given back as each pass reads them, so a file larger than memory can be measured.
        """
    )

    @Argument(help: "A .safetensors or .npy file.")
    var input: String

    @Option(help: "Norm order: 1, 2, inf, or any p > 0.")
    var ord = "2"

    @Option(help: "Only this tensor.")
    var tensor: String?

    @Option(help: "Algorithms, comma-separated, or none for the exact norms only (default: all that apply to the order).")
    var algorithms: String?

    @Option(help: "Threads: SLURM_CPUS_PER_TASK when set, else one per core.")
    var threads = Parallel.defaultThreads

    @Flag(help: "Print one JSON document instead of the tables.")
    var json = false

    func validate() throws {
        if algorithms != "none" { _ = try parseAlgorithms(algorithms, order: try parseOrder(ord)) }
        try Vocabulary.checkThreads(threads)
    }

    func run() throws {
        let order = try parseOrder(ord)
        let chosen = algorithms == "none" ? [] : try parseAlgorithms(algorithms, order: order) ?? ReductionAlgorithm.allCases
        let inputs = try NormInputs(path: input, tensor: tensor)
        var evaluations = [NormEvaluation]()
        for (i, t) in inputs.tensors.enumerated() {
            Terminal.progress("norm: \(t.name) (\(i + 1)/\(inputs.tensors.count))")
            evaluations.append(NormEvaluator.evaluate([t.buffer], order: order, algorithms: chosen, threads: threads,
                                                      release: inputs.release(tensors: [i])))
        }
        Terminal.progress("norm: total")
        // One tensor is its own total: the same elements in the same order give the same evaluation.
        let total = evaluations.count == 1 ? evaluations[0]
            : NormEvaluator.evaluate(inputs.tensors.map(\.buffer), order: order, algorithms: chosen, threads: threads,
                                     release: inputs.release(tensors: Array(inputs.tensors.indices)))
        Terminal.endProgress()
        let named = zip(inputs.tensors, evaluations).map { (name: $0.name, dtype: $0.dtype, evaluation: $1) }
        if json {
            print(NormText.json(order: order, tensors: named, total: total).prettyText())
        } else {
            print(NormText.tables(input: input, order: order, tensors: named, total: total), terminator: "")
        }
    }
}

/// What `norm` prints.
enum NormText {
    static func algorithmsJSON(_ e: NormEvaluation) -> JSONValue {
        .object(e.algorithms.map { a in
            (a.algorithm, .object([
                ("value", .double(a.value)),
                ("ulps", .double(a.ulps)),
                ("relative", .double(a.relative)),
                ("bits_lost", .double(a.bitsLost)),
                ("format", .string(a.output.name)),
                ("accumulator", .string(a.accumulator.name)),
                ("overflowed", .bool(a.overflowed)),
                ("underflowed", .bool(a.underflowed)),
                ("bound_ulps", .double(a.boundUlps)),
                ("within_bound", a.withinBound.map(JSONValue.bool) ?? .null),
            ]))
        })
    }

    static func json(order: NormOrder, tensors: [(name: String, dtype: String, evaluation: NormEvaluation)], total: NormEvaluation) -> JSONValue {
        let ordValue: JSONValue = order == .infinity ? .string("inf") : .double(order.exponent)
        return .object([
            ("ord", ordValue),
            ("tensors", .array(tensors.map { t in
                .object([
                    ("name", .string(t.name)),
                    ("dtype", .string(t.dtype)),
                    ("count", .integer(t.evaluation.count)),
                    ("exact", .double(t.evaluation.exact)),
                    ("exact_in_dtype", .double(t.evaluation.exactInStorage)),
                    ("algorithms", algorithmsJSON(t.evaluation)),
                ])
            })),
            ("total", .object([
                ("count", .integer(total.count)),
                ("exact", .double(total.exact)),
                ("algorithms", algorithmsJSON(total)),
            ])),
        ])
    }

    static func tables(input: String, order: NormOrder, tensors: [(name: String, dtype: String, evaluation: NormEvaluation)],
                       total: NormEvaluation) -> String {
        var text = "\(input): \(order)-norm\n"
        var sections = tensors.map { (title: "\($0.name) (\($0.dtype), \($0.evaluation.count) values)", evaluation: $0.evaluation) }
        if tensors.count > 1 { sections.append((title: "total (\(tensors.count) tensors, \(total.count) values)", evaluation: total)) }
        for section in sections {
            let e = section.evaluation
            text += "\n## \(section.title)\n\nexact: \(Figures.exact(e.exact)) (Float64, correctly rounded)"
            text += ", \(Figures.exact(e.exactInStorage)) in \(e.storage.name)\n\n"
            if !e.algorithms.isEmpty { text += ReductionReport.algorithmTable(e).markdown + "\n" }
        }
        return text
    }
}
