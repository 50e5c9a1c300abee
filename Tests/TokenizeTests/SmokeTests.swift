import Testing
@testable import Tokenize

@Test func icuIsLinked() {
    #expect(icuVersion().split(separator: ".").count >= 2)
}
