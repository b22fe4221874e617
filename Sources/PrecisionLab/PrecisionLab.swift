// The umbrella module: one import for the whole lab.
@_exported import Formats
@_exported import Reference
@_exported import Reductions
@_exported import Reports
@_exported import TensorIO
