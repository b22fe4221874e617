import Experiments
import Results
import Testing

/// Findings that say the same thing on several seeds are one line.
@Suite struct FindingsTests {
    @Test func findingsMergeAcrossSeedsWithRanges() {
        let findings = [
            "**b**, f32, faults x, seed 1: no clipping diverged at step 150 (weight distance 0.10) and 3 more.",
            "**b**, f32, faults x, seed 2: no clipping diverged at step 150 (weight distance 0.25) and 3 more.",
            "**b**, f32, faults x, seed 4: no clipping diverged at step 57 (weight distance 0.0754) and 3 more.",
            "**b**, bf16, faults x, seed 1: no clipping diverged at step 150 (weight distance 0.10) and 3 more.",
            "a finding without a seed",
        ]
        let merged = SuiteAnalysis.mergedAcrossSeeds(findings)
        #expect(merged == [
            "**b**, f32, faults x, seeds 1, 2, 4: no clipping diverged at step 57–150 (weight distance 0.0754–0.25) and 3 more.",
            "**b**, bf16, faults x, seed 1: no clipping diverged at step 150 (weight distance 0.10) and 3 more.",
            "a finding without a seed",
        ])
    }

    /// Two findings of one seed that differ in a figure say different things: both stay.
    @Test func oneSeedTwiceIsNotMerged() {
        let findings = ["**b**, seed 1: scaler static:4096 kept training.", "**b**, seed 1: scaler static:1024 kept training."]
        #expect(SuiteAnalysis.mergedAcrossSeeds(findings) == findings)
        // Equal figures written differently ("0" and "0.0") are one figure, not a range.
        #expect(SuiteAnalysis.mergedAcrossSeeds(["**b**, seed 1: 0.0% lost.", "**b**, seed 2: 0% lost."]) == ["**b**, seeds 1, 2: 0.0% lost."])
    }
}
