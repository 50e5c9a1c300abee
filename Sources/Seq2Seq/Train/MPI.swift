import CMPI

/// Open MPI, loaded at run time through the `CMPI` shim (the only Swift file
/// that imports it). Every call is collective over MPI_COMM_WORLD unless noted.
enum MPI {
    /// Loads libmpi and initializes MPI; returns (rank, size).
    static func start() throws -> (rank: Int, size: Int) {
        var message = [CChar](repeating: 0, count: 512)
        guard cmpi_load(&message, message.count) == 0 else {
            throw DistributedError.mpiUnavailable(reason: String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) },
                                                                 as: UTF8.self))
        }
        var rank: Int32 = 0, size: Int32 = 1
        try check(cmpi_init(&rank, &size), "MPI_Init_thread")
        return (Int(rank), Int(size))
    }

    /// Sums `count` floats at `values` over all ranks, in place.
    static func sum(_ values: UnsafeMutablePointer<Float>, count: Int) throws {
        try check(cmpi_allreduce_sum_float(values, count), "MPI_Allreduce")
    }

    /// Sums `values` over all ranks.
    static func sum(_ values: [Double]) throws -> [Double] {
        var values = values
        try check(cmpi_allreduce_sum_double(&values, Int32(values.count)), "MPI_Allreduce")
        return values
    }

    /// Element-wise maximum of `values` over all ranks.
    static func maximum(_ values: [Double]) throws -> [Double] {
        var values = values
        try check(cmpi_allreduce_max_double(&values, Int32(values.count)), "MPI_Allreduce")
        return values
    }

    /// Rank `root`'s `values`, on every rank.
    static func broadcast(_ values: [Double], from root: Int) throws -> [Double] {
        var values = values
        try check(cmpi_broadcast_double(&values, Int32(values.count), Int32(root)), "MPI_Bcast")
        return values
    }

    static func barrier() throws { try check(cmpi_barrier(), "MPI_Barrier") }

    /// Seconds on MPI's clock (local, not collective).
    static func time() -> Double { cmpi_wtime() }

    /// Ends MPI (local; call once every rank is done communicating).
    static func finish() { _ = cmpi_finalize() }

    /// Ends every rank of the job at once with exit status `code`.
    static func abortAll(code: Int32) -> Never {
        cmpi_abort(code)
        fatalError("MPI_Abort returned")   // cmpi_abort calls exit() itself
    }

    private static func check(_ status: Int32, _ call: String) throws {
        if status != 0 { throw DistributedError.mpiFailed(call: call, code: Int(status)) }
    }
}
