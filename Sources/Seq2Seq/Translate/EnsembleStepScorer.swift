/// Scores each step with several decoders over the same target vocabulary: the mean of their
/// log-probabilities (an ensemble; with one member it is that member's scorer unchanged).
/// Every member keeps its own rows in the same order, so `select` goes to all of them.
final class EnsembleStepScorer: StepScorer {
    private var members: [ModelStepScorer]
    private var scratch: UnsafeMutablePointer<Float>?   // [R, V] the other members' rows
    private var scratchCount = 0

    init(members: [ModelStepScorer]) { self.members = members }

    deinit { scratch?.deallocate() }

    var vocabularySize: Int { members[0].vocabularySize }

    func select(rows parents: [Int]) {
        for i in members.indices { members[i].select(rows: parents) }
    }

    func step(tokens: [Int32], logProbabilities: UnsafeMutableBufferPointer<Float>) throws {
        try members[0].step(tokens: tokens, logProbabilities: logProbabilities)
        guard members.count > 1 else { return }
        let n = logProbabilities.count
        if scratchCount < n {
            scratch?.deallocate()
            scratch = .allocate(capacity: n)
            scratchCount = n
        }
        guard let out = logProbabilities.baseAddress, let other = scratch else { return }
        for k in 1..<members.count {
            try members[k].step(tokens: tokens, logProbabilities: UnsafeMutableBufferPointer(start: other, count: n))
            Kernels.add(other, into: out, count: n)
        }
        let scale = 1 / Float(members.count)
        for i in 0..<n { out[i] *= scale }
    }
}
