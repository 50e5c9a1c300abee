// C shim over Open MPI, bound at run time.
//
// seq2seq must build and run on machines without MPI, so this shim does not
// include <mpi.h> or link libmpi: cmpi_load() dlopen()s Open MPI's libmpi and
// looks up the few functions and predefined objects (MPI_COMM_WORLD, MPI_FLOAT,
// MPI_DOUBLE, MPI_SUM, MPI_MAX) that data-parallel training needs. The
// predefined objects are Open MPI's exported globals (ompi_mpi_comm_world, …),
// so this works with Open MPI only (Debian's libopenmpi3, libmpi.so.40).
//
// No stable Swift API: only Sources/Seq2Seq/Train/MPI.swift imports it.
#ifndef CMPI_H
#define CMPI_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Loads libmpi ($SEQ2SEQ_LIBMPI alone if set, else libmpi.so.40, else libmpi.so) and binds
/// every symbol. Returns 0, or -1 with a reason in `error`.
int cmpi_load(char *error, size_t error_capacity);

/// MPI_Init_thread(MPI_THREAD_FUNNELED) unless already initialized; sets this
/// process's rank and the number of ranks in MPI_COMM_WORLD. Returns an MPI error code (0 = success).
int cmpi_init(int *rank, int *size);

/// In-place MPI_Allreduce(MPI_SUM) over MPI_COMM_WORLD, in pieces of at most 2^30 elements.
int cmpi_allreduce_sum_float(float *values, long count);
int cmpi_allreduce_sum_double(double *values, int count);
/// In-place MPI_Allreduce(MPI_MAX) of doubles over MPI_COMM_WORLD.
int cmpi_allreduce_max_double(double *values, int count);

/// MPI_Bcast of doubles from rank `root` to every rank of MPI_COMM_WORLD.
int cmpi_broadcast_double(double *values, int count, int root);

/// MPI_Barrier(MPI_COMM_WORLD).
int cmpi_barrier(void);

/// MPI_Wtime().
double cmpi_wtime(void);

/// MPI_Finalize() (once; later calls do nothing).
int cmpi_finalize(void);

/// MPI_Abort(MPI_COMM_WORLD, code): ends every rank of the job.
__attribute__((noreturn)) void cmpi_abort(int code);

#ifdef __cplusplus
}
#endif

#endif
