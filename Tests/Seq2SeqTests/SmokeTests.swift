import Testing
@testable import Seq2Seq

@Test func blasIsLinked() {
    #expect(!blasCoreName().isEmpty)
}
