// MPI's predefined handles (MPI_COMM_WORLD, MPI_DOUBLE, ...) are macros: addresses of global
// structs in Open MPI, cast integer constants in MPICH, Intel MPI and Cray MPICH. Swift imports
// neither, so these static inline getters expose them; nothing else depends on the implementation.
#ifndef QFORGE_CMPI_SHIM_H
#define QFORGE_CMPI_SHIM_H
#include <mpi.h>

static inline MPI_Comm qf_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Comm qf_comm_null(void) { return MPI_COMM_NULL; }
static inline MPI_Datatype qf_byte(void) { return MPI_BYTE; }
static inline MPI_Datatype qf_double(void) { return MPI_DOUBLE; }
static inline MPI_Datatype qf_int32(void) { return MPI_INT32_T; }
static inline MPI_Datatype qf_int64(void) { return MPI_INT64_T; }
static inline MPI_Datatype qf_uint64(void) { return MPI_UINT64_T; }
static inline MPI_Op qf_op_sum(void) { return MPI_SUM; }
static inline MPI_Op qf_op_max(void) { return MPI_MAX; }
static inline MPI_Op qf_op_min(void) { return MPI_MIN; }
static inline void *qf_in_place(void) { return MPI_IN_PLACE; }
static inline MPI_Status *qf_status_ignore(void) { return MPI_STATUS_IGNORE; }
static inline int qf_comm_type_shared(void) { return MPI_COMM_TYPE_SHARED; }
static inline MPI_Info qf_info_null(void) { return MPI_INFO_NULL; }
static inline MPI_Errhandler qf_errors_return(void) { return MPI_ERRORS_RETURN; }
static inline int qf_max_library_version_string(void) { return MPI_MAX_LIBRARY_VERSION_STRING; }
#endif
