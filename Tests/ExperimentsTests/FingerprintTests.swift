import Experiments
import Results
import Testing
import Training

/// A result's fingerprint comes from an explicit encoding of its configuration, not from a type's description.
@Suite struct FingerprintTests {
    @Test func theEncodingNamesEverySettingInAFixedForm() {
        var c = TrainingConfiguration()
        c.clip = ClipperConfiguration(method: .globalNorm)
        c.faults = [Fault("spike-batch@3,5x50")!]
        c.scaler = .fixed(1024)
        #expect(c.canonicalEncoding == """
            batch=128
            clip.clipping=0.01
            clip.eps=0.001
            clip.error-if-nonfinite=false
            clip.max-norm=1
            clip.method=global-norm
            clip.order=2
            clip.semantics=torch
            clip.threads=1
            faults=spike-batch@3,5x50
            length=20
            loss-multiplier=1
            lr=0.05
            model=mlp
            optimizer=sgd
            overflow-check=elementwise
            policy=f32
            policy.accumulator=wide
            scaler=none
            seed=1
            skip-non-finite=true
            static-scale=1024
            steps=300
            task=spirals

            """)
    }

    @Test func everyResultChangingSettingChangesTheFingerprintAndNothingElseDoes() {
        let base = TrainingConfiguration()
        var edits: [(inout TrainingConfiguration) -> Void] = [
            { $0.steps = 301 }, { $0.learningRate = 0.0500001 }, { $0.seed = 2 }, { $0.batch = 64 }, { $0.length = 21 },
            { $0.policy = PrecisionPolicy("mixed-f16")! }, { $0.scaler = .dynamic(.torch) }, { $0.scaler = .fixed(2) },
            { $0.scalerOptions.initScale = 8 }, { $0.scalerOptions.consecutiveHysteresis = true }, { $0.scalerOptions.raiseErrorAtMinScale = false },
            { $0.overflowCheck = .deepspeedFP32Sum }, { $0.optimizer = .adam }, { $0.lossMultiplier = 0.5 },
            { $0.skipNonFinite = false }, { $0.faults = [Fault("gradient-nan@2")!] }, { $0.clip.maxNorm = 2 },
            { $0.clip.order = 1 }, { $0.clip.semantics = .optax }, { $0.clip.threads = 2 },
        ]
        edits.append { $0.clip = ClipperConfiguration(method: .value) }
        var seen: Set<String> = [base.fingerprint]
        for edit in edits {
            var c = base
            edit(&c)
            #expect(seen.insert(c.fingerprint).inserted)
        }
        var threads = base
        threads.threads = 8
        #expect(threads.fingerprint == base.fingerprint)
        #expect(base.fingerprint.count == 16 && base.fingerprint.allSatisfy(\.isHexDigit))
    }
}
