// Run-time binding to Open MPI; see include/cmpi.h.
#include "cmpi.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// Open MPI's handles are pointers to its predefined objects.
typedef void *mpi_handle;

#define MPI_SUCCESS 0
#define MPI_THREAD_FUNNELED 1
#define MPI_IN_PLACE ((void *)1)

static int (*p_init_thread)(int *, char ***, int, int *);
static int (*p_initialized)(int *);
static int (*p_finalized)(int *);
static int (*p_finalize)(void);
static int (*p_comm_rank)(mpi_handle, int *);
static int (*p_comm_size)(mpi_handle, int *);
static int (*p_allreduce)(const void *, void *, int, mpi_handle, mpi_handle, mpi_handle);
static int (*p_barrier)(mpi_handle);
static int (*p_bcast)(void *, int, mpi_handle, int, mpi_handle);
static double (*p_wtime)(void);
static int (*p_abort)(mpi_handle, int);

static mpi_handle comm_world, type_float, type_double, op_sum, op_max;
static void *library;

static int bind(void **slot, const char *name, char *error, size_t capacity) {
    *slot = dlsym(library, name);
    if (*slot == NULL) {
        snprintf(error, capacity, "libmpi has no symbol %s (is it Open MPI?)", name);
        return -1;
    }
    return 0;
}

int cmpi_load(char *error, size_t capacity) {
    if (library != NULL) return 0;
    // $SEQ2SEQ_LIBMPI, when set, is the only library tried.
    const char *chosen = getenv("SEQ2SEQ_LIBMPI");
    const char *candidates[] = {"libmpi.so.40", "libmpi.so"};
    size_t count = sizeof candidates / sizeof candidates[0];
    if (chosen != NULL && chosen[0] != '\0') {
        candidates[0] = chosen;
        count = 1;
    }
    const char *last = "no candidate";
    for (size_t i = 0; i < count && library == NULL; i++) {
        // RTLD_GLOBAL: Open MPI's plugins (mca_*.so) resolve their symbols against libmpi.
        library = dlopen(candidates[i], RTLD_NOW | RTLD_GLOBAL);
        if (library == NULL) last = dlerror();
    }
    if (library == NULL) {
        snprintf(error, capacity, "cannot load Open MPI's libmpi (%s)", last ? last : "unknown error");
        return -1;
    }
    struct { void **slot; const char *name; } symbols[] = {
        {(void **)&p_init_thread, "MPI_Init_thread"}, {(void **)&p_initialized, "MPI_Initialized"},
        {(void **)&p_finalized, "MPI_Finalized"},     {(void **)&p_finalize, "MPI_Finalize"},
        {(void **)&p_comm_rank, "MPI_Comm_rank"},     {(void **)&p_comm_size, "MPI_Comm_size"},
        {(void **)&p_allreduce, "MPI_Allreduce"},     {(void **)&p_barrier, "MPI_Barrier"},
        {(void **)&p_wtime, "MPI_Wtime"},             {(void **)&p_abort, "MPI_Abort"},
        {(void **)&p_bcast, "MPI_Bcast"},
        // Predefined objects: their addresses are the handles MPI_COMM_WORLD, MPI_FLOAT, ….
        {&comm_world, "ompi_mpi_comm_world"}, {&type_float, "ompi_mpi_float"},
        {&type_double, "ompi_mpi_double"},    {&op_sum, "ompi_mpi_op_sum"},
        {&op_max, "ompi_mpi_op_max"},
    };
    for (size_t i = 0; i < sizeof symbols / sizeof symbols[0]; i++) {
        if (bind(symbols[i].slot, symbols[i].name, error, capacity) != 0) {
            dlclose(library);
            library = NULL;
            return -1;
        }
    }
    return 0;
}

int cmpi_init(int *rank, int *size) {
    int initialized = 0, provided = 0, status;
    if ((status = p_initialized(&initialized)) != MPI_SUCCESS) return status;
    if (!initialized && (status = p_init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided)) != MPI_SUCCESS) {
        return status;
    }
    if ((status = p_comm_rank(comm_world, rank)) != MPI_SUCCESS) return status;
    return p_comm_size(comm_world, size);
}

int cmpi_allreduce_sum_float(float *values, long count) {
    const long piece = 1L << 30;
    for (long start = 0; start < count; start += piece) {
        int n = (int)(count - start < piece ? count - start : piece);
        int status = p_allreduce(MPI_IN_PLACE, values + start, n, type_float, op_sum, comm_world);
        if (status != MPI_SUCCESS) return status;
    }
    return MPI_SUCCESS;
}

int cmpi_allreduce_sum_double(double *values, int count) {
    return p_allreduce(MPI_IN_PLACE, values, count, type_double, op_sum, comm_world);
}

int cmpi_allreduce_max_double(double *values, int count) {
    return p_allreduce(MPI_IN_PLACE, values, count, type_double, op_max, comm_world);
}

int cmpi_broadcast_double(double *values, int count, int root) {
    return p_bcast(values, count, type_double, root, comm_world);
}

int cmpi_barrier(void) { return p_barrier(comm_world); }

double cmpi_wtime(void) { return p_wtime(); }

int cmpi_finalize(void) {
    int finalized = 0;
    if (library == NULL || p_finalized(&finalized) != MPI_SUCCESS || finalized) return MPI_SUCCESS;
    return p_finalize();
}

void cmpi_abort(int code) {
    if (library != NULL) p_abort(comm_world, code);
    exit(code);
}
