// CBLAS from OpenBLAS (Debian libopenblas-dev). Imported by exactly one Swift
// file, Sources/Seq2Seq/Math/BLAS.swift; everything else calls that wrapper.
#include <cblas.h>
// OpenBLAS extensions used to pin the thread count.
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
char *openblas_get_corename(void);
