/// The element types a tensor file can hold.
///
/// The raw value is the safetensors header spelling, so header parsing is a single `init(rawValue:)` and an
/// unknown spelling can be reported verbatim. `.npy` files map onto the three IEEE float types only.
public enum TensorDType: String, CaseIterable, Sendable {
    case f16 = "F16", bf16 = "BF16", f32 = "F32", f64 = "F64", f8e4m3 = "F8_E4M3", f8e5m2 = "F8_E5M2"
    case bool = "BOOL", u8 = "U8", i8 = "I8", u16 = "U16", i16 = "I16", u32 = "U32", i32 = "I32", u64 = "U64", i64 = "I64"

    /// Bytes per element; every size divides 8, which the writers rely on to keep chunks whole-element.
    public var byteSize: Int {
        switch self {
        case .bool, .u8, .i8, .f8e4m3, .f8e5m2: 1
        case .f16, .bf16, .u16, .i16: 2
        case .f32, .u32, .i32: 4
        case .f64, .u64, .i64: 8
        }
    }

    /// True for the six floating-point formats the lab studies; the integer and bool types are carried
    /// only so that any safetensors file can be opened.
    public var isFloatingPoint: Bool {
        switch self {
        case .f16, .bf16, .f32, .f64, .f8e4m3, .f8e5m2: true
        case .bool, .u8, .i8, .u16, .i16, .u32, .i32, .u64, .i64: false
        }
    }

    /// The `.npy` `descr` string, or nil when TensorIO cannot store the type in `.npy` (numpy has no
    /// standard spelling for bf16 or the fp8 formats, and the lab does not need integer `.npy` files).
    public var npyDescr: String? {
        switch self {
        case .f16: "<f2"
        case .f32: "<f4"
        case .f64: "<f8"
        default: nil
        }
    }

    /// Inverse of `npyDescr`.
    init?(npyDescr: String) {
        switch npyDescr {
        case "<f2": self = .f16
        case "<f4": self = .f32
        case "<f8": self = .f64
        default: return nil
        }
    }
}
