// OpenBLAS' CBLAS and LAPACKE interfaces for the chemistry kernels (dense linear algebra).
#ifndef QFORGE_CBLAS_SHIM_H
#define QFORGE_CBLAS_SHIM_H
#include <cblas.h>
// Debian ships no lapacke.h; libopenblas exports LAPACK's Fortran symbols, declared here.
/// Eigenvalues (ascending) and, with jobz = 'V', eigenvectors of a symmetric matrix.
void dsyev_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda,
            double *w, double *work, const int *lwork, int *info);
#endif
