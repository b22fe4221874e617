// The umbrella module: one import for the whole lab.
@_exported import Formats
@_exported import Base
@_exported import Reference
@_exported import Reductions
@_exported import Results
@_exported import Reports
@_exported import TensorIO
@_exported import Tensors
@_exported import Autograd
@_exported import Training
@_exported import Experiments
@_exported import KernelHarness
