import ArgumentParser
import TensorCore

// Before anything else: if OpenBLAS fell back to kernels this CPU outruns, re-execute with better ones.
BLASKernels.selectAtStartup()
Concord.main()
