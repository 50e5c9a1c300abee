import CICU

/// The ICU version this build links against.
public func icuVersion() -> String { String(cString: cicu_version()) }
