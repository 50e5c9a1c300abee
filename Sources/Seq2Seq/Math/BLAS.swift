import CBLAS

/// Name of the OpenBLAS kernel chosen at run time (e.g. "Zen").
public func blasCoreName() -> String {
    guard let name = openblas_get_corename() else { return "unknown" }
    return String(cString: name)
}
